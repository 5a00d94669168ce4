// The npm package in Node, as a policy repository's CI would use it: validate a policy file,
// see each error at its JSON pointer, explain a request, diff two policies.

const test = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { Policy, validate } = require("..");

const examplePath = join(__dirname, "../../../policies/examples/dual-cloud-city.json");
const example = readFileSync(examplePath, "utf8");
// The `unitgate` command, built by `make playground-test`.
const cli = process.env.UNITGATE_CLI || join(__dirname, "../../../target/debug/unitgate");

test("the shipped example policy is valid", () => {
  const v = validate(example);
  assert.equal(v.valid, true);
  assert.equal(v.version, "dada-2026-11-22.1");
  assert.deepEqual(v.errors, []);
});

test("an overlapping range is an error at its JSON pointer and its place in the text", () => {
  const bad = example.replace('"500~999"', '"400~999"');
  const v = validate(bad);
  assert.equal(v.valid, false);
  const e = v.errors.find((f) => f.pointer === "/rules/0/ranges/1/ranges/0");
  assert.ok(e, JSON.stringify(v.errors));
  assert.match(e.message, /overlaps 0~499/);
  assert.equal(bad.slice(e.start, e.end), '"400~999"');
  assert.equal(bad.split("\n")[e.line - 1].includes("400~999"), true);
});

test("explain says what unitgate explain says", () => {
  const p = new Policy(example);
  const r = p.explain({ url: "/api/orders?city_id=600", headers: ["x-user-id: u16"] });
  assert.equal(r.outcome, "route");
  assert.equal(r.unit, "jc");
  assert.equal(r.reason, "key_range");
  assert.match(r.steps, /^mapping +rule by-city: range 500~999 -> jc$/m);
  assert.throws(() => p.explain({ url: "/", localUnit: "nowhere" }), /local_unit/);
  p.free();
});

test("explain's steps are, line for line, what `unitgate explain` prints", () => {
  const p = new Policy(example);
  const now = "2026-11-22T03:00:00Z";
  const requests = [
    { method: "GET", url: "http://shop.example/api/orders?city_id=42", headers: ["x-user-id: u16"] },
    { method: "POST", url: "/api/orders", headers: ["x-city-id: 600"], body: '{"sku": 1}' },
    { method: "PUT", url: "/api/profile/7", headers: [], localUnit: "jc" },
    { method: "GET", url: "/api/orders?city_id=abc", headers: ["x-user-id: u3"] },
  ];
  for (const r of requests) {
    const args = ["explain", examplePath, r.url, "-X", r.method, "--local-unit", r.localUnit ?? "uc", "--now", now];
    for (const h of r.headers) args.push("-H", h);
    if (r.body) args.push("-d", r.body);
    const printed = execFileSync(cli, args, { encoding: "utf8" });
    const steps = p.explain({ ...r, now }).steps;
    assert.ok(steps.length > 100, steps);
    assert.equal(printed.slice(0, steps.length), steps, `${r.method} ${r.url}`);
  }
  p.free();
});

test("an invalid policy cannot be explained, and the diff names what moves", () => {
  assert.throws(() => new Policy("{}").explain({ url: "/" }), /not valid/);
  const a = new Policy(example);
  const b = new Policy(example.replace("0~499", "0~399").replace("500~999", "400~999"));
  const d = a.diff(b);
  assert.deepEqual(d.rules[0].range_moves, [{ lo: 400, hi: 499, from: "uc", to: "jc" }]);
  assert.equal(d.rules[0].moved_share, 0.1);
});
