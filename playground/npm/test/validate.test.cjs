// The npm package in Node, as a policy repository's CI would use it: validate a policy file,
// see each error at its JSON pointer, explain a request, diff two policies.

const test = require("node:test");
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { Policy, validate } = require("..");

const example = readFileSync(join(__dirname, "../../../policies/examples/dual-cloud-city.json"), "utf8");

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

test("an invalid policy cannot be explained, and the diff names what moves", () => {
  assert.throws(() => new Policy("{}").explain({ url: "/" }), /not valid/);
  const a = new Policy(example);
  const b = new Policy(example.replace("0~499", "0~399").replace("500~999", "400~999"));
  const d = a.diff(b);
  assert.deepEqual(d.rules[0].range_moves, [{ lo: 400, hi: 499, from: "uc", to: "jc" }]);
  assert.equal(d.rules[0].moved_share, 0.1);
});
