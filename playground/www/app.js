// The playground page: reads the form, asks the core (wasm) and draws its answers.
// No policy logic lives here: validation, decisions, maps, gray buckets and diffs all come
// from unitgate-core through pkg/unitgate_playground.js.

import init, { Policy } from "./pkg/unitgate_playground.js";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#d9730d", "#2e8540", "#c0392b", "#7b4fa0", "#8c564b", "#c2185b", "#5f6b6d"];
const LISTED = 12; // ranges listed per unit and rule; the bar shows them all
const MOVES = 50; // moves listed per rule in the diff; the share counts them all

let current = null; // Policy for #policy
let valid = false; // current.validation().valid
let other = null; // Policy for #policy-b
let otherText = null; // the text `other` was loaded from
let colours = new Map(); // unit name -> colour
let grayRule = null; // the rule the slider was last set for
let lastPreview = null; // {rule, percent, moving: Set} for the monotonicity line

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

/** "12.5%": at most two decimals, as `unitgate diff` prints shares. */
function percent(share) {
  return `${(share * 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

function users(n) {
  return `${n} user${n === 1 ? "" : "s"}`;
}

function colour(unit) {
  return colours.get(unit) ?? "#999";
}

// === policy and findings ===

function renderFindings(v) {
  const list = $("findings");
  list.replaceChildren();
  const add = (kind, f) => {
    const b = el("button", { type: "button", class: kind, "data-pointer": f.pointer },
      `${kind} ${f.text} (line ${f.line}, column ${f.column})`);
    b.addEventListener("click", () => select(f));
    list.append(el("li", {}, b));
  };
  v.errors.forEach((f) => add("error", f));
  v.warnings.forEach((f) => add("warning", f));
  if (!v.errors.length && !v.warnings.length) list.append(el("li", { class: "ok" }, "none"));
}

/** Select a finding's value in the editor and scroll to it. */
function select(f) {
  const editor = $("policy");
  editor.focus();
  editor.setSelectionRange(f.start, Math.max(f.end, f.start));
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 16;
  editor.scrollTop = Math.max(0, (f.line - 4) * lineHeight);
}

function statusText(v) {
  const w = `${v.warnings.length} warning${v.warnings.length === 1 ? "" : "s"}`;
  return v.valid
    ? `valid, version ${v.version} (${w})`
    : `invalid (${v.errors.length} error${v.errors.length === 1 ? "" : "s"}, ${w})`;
}

/** Everything that depends on the policy, after an edit. Measures the time each part takes
 * (window.playgroundTimings, in ms) and the whole (data-update-ms, and the status line). */
function update() {
  const t0 = performance.now();
  const timings = {};
  let mark = t0;
  const step = (name, f) => {
    f();
    const now = performance.now();
    timings[name] = Math.round((now - mark) * 10) / 10;
    mark = now;
  };
  let v;
  step("load", () => {
    current?.free();
    current = new Policy($("policy").value);
    v = current.validation();
    valid = v.valid;
  });
  step("findings", () => renderFindings(v));
  document.body.dataset.valid = String(v.valid);
  for (const id of ["explain-section", "map-section", "gray-section", "diff-section"]) {
    $(id).classList.toggle("stale", !v.valid);
  }
  if (v.valid) {
    step("map", renderMap);
    step("explain", renderExplain);
    step("gray", renderGray);
    step("diff", renderDiff);
  }
  step("layout", () => void document.body.offsetHeight);
  const ms = performance.now() - t0;
  window.playgroundTimings = timings;
  document.body.dataset.updateMs = ms.toFixed(1);
  $("status").textContent = statusText(v);
  $("update-time").textContent = `updated in ${ms.toFixed(1)} ms`;
}

// === explain ===

function lines(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

function renderExplain() {
  if (!valid) return;
  const out = (id, text) => ($(id).textContent = text ?? "-");
  try {
    const body = $("req-body").value;
    const r = current.explain({
      method: $("req-method").value,
      url: $("req-url").value,
      headers: lines($("req-headers").value),
      cookies: lines($("req-cookies").value),
      body: body === "" ? null : body,
      localUnit: $("req-unit").value || null,
      failMode: $("req-fail").value,
    });
    out("explain-outcome", r.outcome === "reply" ? `reply ${r.status}` : r.outcome);
    out("explain-unit", r.unit);
    out("explain-upstream", r.upstream);
    out("explain-reason", r.reason);
    $("explain-unit").style.borderColor = colour(r.unit);
    $("explain-steps").textContent = r.steps;
  } catch (e) {
    ["explain-outcome", "explain-unit", "explain-upstream", "explain-reason"].forEach((id) => out(id, "-"));
    $("explain-steps").textContent = `cannot explain: ${e.message}`;
  }
}

// === shard map ===

function drawBar(canvas, rule) {
  const [lo, hi] = rule.domain;
  const width = (canvas.width = 800);
  canvas.height = 28;
  const g = canvas.getContext("2d");
  g.fillStyle = "#eee";
  g.fillRect(0, 0, width, 28);
  const x = (n) => ((n - lo) / (hi - lo + 1)) * width;
  for (const s of rule.spans) {
    g.fillStyle = colour(s.unit);
    g.fillRect(x(s.lo), 0, Math.max(1, x(s.hi + 1) - x(s.lo)), 28);
  }
}

function ruleSection(rule) {
  const transform = typeof rule.transform === "string" ? rule.transform : JSON.stringify(rule.transform);
  const domain = rule.domain ? `, keys ${rule.domain[0]}~${rule.domain[1]}` : "";
  const section = el("section", { class: "rule", "data-rule": rule.name },
    el("h3", {}, `rule ${rule.name} (key ${rule.key}, transform ${transform}${domain})`));
  const units = [...new Set([...rule.spans.map((s) => s.unit), ...rule.exact.map((e) => e.unit)])];
  if (rule.domain && rule.spans.length) {
    const canvas = el("canvas", { class: "bar" });
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `key ranges of rule ${rule.name}, by unit: ` +
      units.map((u) => `${u} ${rule.spans.filter((s) => s.unit === u).length} ranges`).join(", "));
    drawBar(canvas, rule);
    section.append(canvas);
  }
  const body = el("tbody");
  for (const u of units) {
    const spans = rule.spans.filter((s) => s.unit === u);
    const listed = spans.slice(0, LISTED).map((s) => (s.lo === s.hi ? `${s.lo}` : `${s.lo}~${s.hi}`));
    if (spans.length > LISTED) listed.push(`… ${spans.length - LISTED} more`);
    const exact = rule.exact.filter((e) => e.unit === u);
    const count = exact.reduce((n, e) => n + e.count, 0);
    const sample = exact.flatMap((e) => e.sample).slice(0, 8);
    const values = count ? `${count}: ${sample.join(", ")}${count > sample.length ? ", …" : ""}` : "-";
    body.append(el("tr", { "data-unit": u },
      el("th", { scope: "row" }, el("span", { class: "swatch", style: `background:${colour(u)}` }), u),
      el("td", {}, listed.join(", ") || "-"), el("td", {}, values)));
  }
  const extra = [];
  if (rule.consistentHash.length) extra.push(`consistent hash over ${rule.consistentHash.join(", ")}`);
  extra.push(`default ${rule.default ?? "none (missing_key applies)"}`);
  section.append(
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "unit"), el("th", {}, "key ranges"),
      el("th", {}, "exact values"))), body),
    el("p", {}, `Otherwise: ${extra.join("; ")}.`));
  return section;
}

function renderMap() {
  const m = current.shardMap();
  colours = new Map(m.units.map((u, i) => [u.name, PALETTE[i % PALETTE.length]]));
  $("legend").replaceChildren(...m.units.map((u) =>
    el("span", { class: "unit" }, el("span", { class: "swatch", style: `background:${colour(u.name)}` }),
      `${u.name} (${u.role}, ${u.cloud})`)));
  $("map").replaceChildren(...m.rules.map(ruleSection));
  $("apis").tBodies[0].replaceChildren(...m.apis.map((a) =>
    el("tr", {}, el("td", {}, a.name), el("td", {}, a.matcher), el("td", {}, a.class), el("td", {}, a.rule ?? "-"))));
  // The ingress list follows the units; keep the chosen one if it still exists.
  const unit = $("req-unit");
  const chosen = unit.value;
  const center = m.units.find((u) => u.role === "center")?.name;
  unit.replaceChildren(...m.units.map((u) => el("option", { value: u.name, selected: u.name === (chosen || center) }, u.name)));
}

// === gray rollout ===

function renderGray() {
  if (!valid) return;
  const select = $("gray-rule");
  const names = current.grayRules();
  const chosen = names.includes(select.value) ? select.value : names[0];
  select.replaceChildren(...names.map((n) => el("option", { value: n, selected: n === chosen }, n)));
  if (!chosen) {
    $("gray-summary").textContent = "The policy has no gray rule.";
    $("gray-grid").replaceChildren();
    $("gray-monotone").textContent = "";
    return;
  }
  if (grayRule !== chosen) {
    // A newly chosen rule starts at its own percent.
    const own = current.grayPreview(chosen, undefined, []).percent;
    $("gray-percent").value = String(own);
    grayRule = chosen;
    lastPreview = null;
  }
  const pct = Number($("gray-percent").value);
  $("gray-percent-value").textContent = `${pct}%`;
  const p = current.grayPreview(chosen, pct, lines($("gray-users").value));
  $("gray-summary").textContent =
    `At ${p.percent}% (buckets below ${p.threshold} of 10000), ${p.moved} of ${users(p.users.length)} move to ${p.target}.`;
  const moving = new Set(p.users.filter((u) => u.moves).map((u) => u.id));
  if (lastPreview && lastPreview.rule === chosen && lastPreview.percent !== pct) {
    const [lo, hi] = lastPreview.percent < pct ? [lastPreview.moving, moving] : [moving, lastPreview.moving];
    const back = [...lo].filter((u) => !hi.has(u)).length;
    const verb = lastPreview.percent < pct ? "Raised" : "Lowered";
    $("gray-monotone").textContent =
      `${verb} from ${lastPreview.percent}% to ${pct}%: ${users(Math.abs(moving.size - lastPreview.moving.size))} changed side; ` +
      `${back} went against the move (0 means monotone).`;
  }
  lastPreview = { rule: chosen, percent: pct, moving };
  $("gray-grid").replaceChildren(...p.users.map((u) => {
    const li = el("li", { class: u.moves ? "moves" : "stays", "data-user": u.id, "data-moves": String(u.moves) },
      el("strong", {}, u.id), ` bucket ${u.bucket}`, el("span", { class: "why" }, u.moves ? ` → ${p.target}` : " stays"));
    if (u.moves) li.style.borderColor = colour(p.target);
    li.title = u.why;
    return li;
  }));
}

// === diff ===

function table(header, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...header.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))));
}

function changeRows(changes) {
  return changes.map((c) => [c.name, c.field, c.from, c.to]);
}

function renderDiff() {
  const out = $("diff");
  const text = $("policy-b").value.trim();
  if (text !== otherText) {
    other?.free();
    other = text ? new Policy(text) : null;
    otherText = text;
  }
  if (!other || !valid) {
    out.replaceChildren(el("p", {}, "Paste a second policy above to see what moves."));
    return;
  }
  const vb = other.validation();
  if (!vb.valid) {
    out.replaceChildren(el("p", { class: "error" }, `The second policy is ${statusText(vb)}: error ${vb.errors[0].text}`));
    return;
  }
  const d = current.diff(other);
  const parts = [el("p", {}, `policy ${d.from_version} → ${d.to_version}`)];
  for (const r of d.rules) {
    const domain = r.domain ? `${r.domain[0]}~${r.domain[1]}` : "-";
    const size = r.domain ? r.domain[1] - r.domain[0] + 1 : 0;
    parts.push(el("h3", { "data-rule": r.rule }, `rule ${r.rule} (key ${r.key}, domain ${domain}): ${percent(r.moved_share)} of the key space moves`));
    const rows = r.range_moves.map((m) => [`${m.lo}~${m.hi}`, m.from, m.to, size ? percent((m.hi - m.lo + 1) / size) : "-"]);
    rows.push(...r.exact_moves.map((m) => [`exact ${m.value}`, m.from, m.to, "-"]));
    const more = rows.length - MOVES;
    if (more > 0) rows.splice(MOVES, more, [`… ${more} more`, "", "", ""]);
    if (rows.length) parts.push(table(["keys", "from", "to", "share"], rows));
    if (r.changes.length) parts.push(table(["rule", "field", "from", "to"], changeRows(r.changes)));
  }
  if (d.gray.length) {
    parts.push(el("h3", {}, "gray"), table(["rule", "percent", "users moved", "changes"], d.gray.map((g) =>
      [g.rule, `${g.from_percent ?? "-"} → ${g.to_percent ?? "-"}`, percent(g.moved_share),
        g.changes.map((c) => `${c.field}: ${c.from} → ${c.to}`).join("; ") || "-"])));
  }
  for (const [title, changes] of [["units", d.units], ["apis", d.apis], ["isolation", d.isolation], ["missing_key", d.missing_key]]) {
    if (changes.length) parts.push(el("h3", {}, title), table(["name", "field", "from", "to"], changeRows(changes)));
  }
  if (parts.length === 1) parts.push(el("p", {}, "no routing change"));
  out.replaceChildren(...parts);
}

// === wiring ===

async function main() {
  await init();
  $("gray-users").value = Array.from({ length: 100 }, (_, i) => `u${i}`).join("\n");
  $("policy").value = await (await fetch("pkg/example.json")).text();
  $("policy").addEventListener("input", update);
  for (const id of ["req-method", "req-url", "req-headers", "req-cookies", "req-body", "req-unit", "req-fail"]) {
    $(id).addEventListener("input", renderExplain);
  }
  for (const id of ["gray-rule", "gray-percent", "gray-users"]) $(id).addEventListener("input", renderGray);
  $("policy-b").addEventListener("input", renderDiff);
  $("copy-to-b").addEventListener("click", () => {
    $("policy-b").value = $("policy").value;
    renderDiff();
  });
  update();
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  $("status").textContent = `the playground could not start: ${e.message}`;
});
