-- The Lua variant of the Envoy benchmark: the routing of bench/policy.json, written by hand as a
-- user would, and checked against unitgate's decisions before every run.
--   /static/ and any path outside /api/: the center unit (global class);
--   /api/: the x-city-id header, a decimal number, looked up in the city ranges;
--   no usable key, or a city outside every range: the local unit.
-- It sets the cluster header that the route reads.

local CENTER = "unit_a"
local LOCAL = "unit_a"
-- {first city, last city, cluster}, sorted and not overlapping.
local RANGES = {
  {0, 99, "unit_a"}, {100, 199, "unit_b"}, {200, 299, "unit_a"}, {300, 399, "unit_b"},
  {400, 499, "unit_a"}, {500, 599, "unit_b"}, {600, 699, "unit_a"}, {700, 799, "unit_b"},
  {800, 899, "unit_a"}, {900, 999, "unit_b"},
}

local function by_city(value)
  local digits = value and string.match(value, "^%s*(%d+)%s*$")
  if not digits then
    return LOCAL
  end
  local city = tonumber(digits)
  local lo, hi = 1, #RANGES
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local r = RANGES[mid]
    if city < r[1] then
      hi = mid - 1
    elseif city > r[2] then
      lo = mid + 1
    else
      return r[3]
    end
  end
  return LOCAL
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local path = headers:get(":path") or "/"
  local cluster = CENTER
  if string.sub(path, 1, 5) == "/api/" then
    cluster = by_city(headers:get("x-city-id"))
  end
  headers:replace("x-unitgate-cluster", cluster)
  handle:clearRouteCache()
end
