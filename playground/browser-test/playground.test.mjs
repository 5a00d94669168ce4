// The playground page in real headless Chromium, driven over WebDriver as a person would use
// it: a bad policy, its error at its JSON pointer, a fix typed on the keyboard, a request
// explained, the gray slider moved, tab order and labels, and the update time after an edit
// of a 10,000-entry policy (reported, not asserted). Screenshots go to $PLAYGROUND_SCREENSHOTS.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { By, Key, until } from "selenium-webdriver";
import { start } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const shots = process.env.PLAYGROUND_SCREENSHOTS || join(root, "target/playground/screenshots");
const examplePath = join(root, "policies/examples/dual-cloud-city.json");
const example = readFileSync(examplePath, "utf8");
// The `unitgate` command, built by `make playground-test`.
const cli = process.env.UNITGATE_CLI || join(root, "target/debug/unitgate");
const WAIT = 20000;

let browser; // {driver, url, stop}
let driver;

const byId = (id) => driver.findElement(By.id(id));
const text = async (id) => (await byId(id)).getText();

/** Replace a text field's whole content (too long to type), as a paste would. */
async function paste(id, value) {
  await driver.executeScript(
    "const e = document.getElementById(arguments[0]); e.value = arguments[1];" +
      "e.dispatchEvent(new Event('input', {bubbles: true}));",
    id,
    value,
  );
}

async function waitText(id, pattern) {
  const e = await byId(id);
  await driver.wait(async () => pattern.test(await e.getText()), WAIT, `#${id} never matched ${pattern}`);
}

async function screenshot(name, id) {
  mkdirSync(shots, { recursive: true });
  const target = id ? await byId(id) : null;
  if (target) await driver.executeScript("arguments[0].scrollIntoView()", target);
  const png = target ? await target.takeScreenshot() : await driver.takeScreenshot();
  writeFileSync(join(shots, `${name}.png`), png, "base64");
}

/** Users the preview shows as moving, read from the page. */
async function movingUsers() {
  return driver.executeScript(
    "return [...document.querySelectorAll('#gray-grid li')].map(li => [li.dataset.user, li.dataset.moves === 'true'])",
  );
}

describe("the playground in Chromium", { timeout: 300000 }, () => {
  before(async () => {
    browser = await start(join(root, "playground/www"));
    driver = browser.driver;
  });

  after(async () => {
    await browser?.stop();
  });

  it("loads the page with the example policy, valid", async () => {
    await driver.get(browser.url);
    await driver.wait(until.elementLocated(By.css("body[data-ready='true']")), WAIT);
    assert.equal(await driver.getTitle(), "unitgate policy playground");
    await waitText("status", /^valid, version dada-2026-11-22\.1 \(0 warnings\)/);
    await screenshot("page");
  });

  it("shows a bad policy's error at its JSON pointer", async () => {
    await paste("policy", example.replace('"500~999"', '"400~999"'));
    await waitText("status", /^invalid \(1 error/);
    const error = await driver.findElement(By.css("#findings button[data-pointer='/rules/0/ranges/1/ranges/0']"));
    assert.match(await error.getText(), /^error at \/rules\/0\/ranges\/1\/ranges\/0: range 400~999 overlaps 0~499/);
    assert.match(await error.getText(), /\(line 29, column \d+\)$/);
    await screenshot("error", "policy-section");
  });

  it("fixes it from the keyboard: the error selects its value, typing replaces it", async () => {
    await byId("policy").click();
    await driver.actions().sendKeys(Key.TAB).perform();
    const focused = await driver.switchTo().activeElement();
    assert.equal(await focused.getAttribute("data-pointer"), "/rules/0/ranges/1/ranges/0", "Tab leads to the error");
    await focused.sendKeys(Key.ENTER);
    const selected = await driver.executeScript(
      "const e = document.activeElement; return [e.id, e.value.slice(e.selectionStart, e.selectionEnd)]",
    );
    assert.deepEqual(selected, ["policy", '"400~999"']);
    await driver.actions().sendKeys('"500~999"').perform();
    await waitText("status", /^valid, version/);
    assert.equal(await byId("policy").getAttribute("value"), example);
    assert.equal(await driver.findElement(By.css("#findings li")).getText(), "none");
  });

  it("explains a request: the unit and the steps of unitgate explain", async () => {
    const url = await byId("req-url");
    await url.clear();
    await url.sendKeys("http://shop.example/api/orders?city_id=600");
    await waitText("explain-unit", /^jc$/);
    assert.equal(await text("explain-reason"), "key_range");
    assert.match(await text("explain-steps"), /mapping +rule by-city: range 500~999 -> jc/);
    await url.clear();
    await url.sendKeys("http://shop.example/api/orders?city_id=42");
    await waitText("explain-reason", /^gray$/);
    assert.equal(await text("explain-unit"), "jc");
    assert.match(await text("explain-steps"), /gray +rule city-42-to-jc: user=u16, bucket 735 vs threshold 1000/);
    // Line for line what the command prints for the same request at the same ingress.
    const printed = execFileSync(cli, ["explain", examplePath, "http://shop.example/api/orders?city_id=42",
      "-H", "x-user-id: u16", "--local-unit", "uc"], { encoding: "utf8" });
    const steps = await driver.executeScript("return document.getElementById('explain-steps').textContent");
    assert.equal(printed.slice(0, steps.length), steps);
    await screenshot("explain", "explain-section");
  });

  it("moves the gray slider: raising the percent never moves anyone back", async () => {
    const slider = await byId("gray-percent");
    await slider.sendKeys(Key.HOME);
    await waitText("gray-summary", /^At 0% .* 0 of 100 users move/);
    let before = new Set();
    for (let step = 0; step < 20; step++) {
      await slider.sendKeys(...Array(5).fill(Key.ARROW_RIGHT));
      const pct = (step + 1) * 5;
      await waitText("gray-percent-value", new RegExp(`^${pct}%$`));
      const now = new Set((await movingUsers()).filter(([, m]) => m).map(([u]) => u));
      for (const u of before) assert.ok(now.has(u), `${u} moved back at ${pct}%`);
      assert.ok(now.size >= before.size);
      assert.match(await text("gray-monotone"), /; 0 went against the move/);
      assert.match(await text("gray-summary"), new RegExp(`^At ${pct}% .* ${now.size} of 100 users move to jc`));
      before = now;
    }
    assert.equal(before.size, 100, "everyone moves at 100%");
    await slider.sendKeys(Key.HOME, ...Array(10).fill(Key.ARROW_RIGHT));
    await waitText("gray-percent-value", /^10%$/);
    await screenshot("gray", "gray-section");
  });

  it("draws the shard map and the diff against a second policy", async () => {
    const uc = await driver.findElement(By.css("#map section[data-rule='by-city'] tr[data-unit='uc']"));
    assert.match(await uc.getText(), /uc 0~499/);
    await byId("copy-to-b").click();
    await waitText("diff", /no routing change/);
    await paste("policy-b", example.replace("0~499", "0~399").replace("500~999", "400~999"));
    await waitText("diff", /rule by-city \(key city, domain 0~999\): 10% of the key space moves/);
    assert.match(await text("diff"), /400~499 uc jc 10%/);
    await screenshot("map", "map-section");
    await screenshot("diff", "diff-section");
  });

  it("is usable by keyboard: every control has a label, Tab visits them in reading order", async () => {
    const unlabelled = await driver.executeScript(
      "return [...document.querySelectorAll('input, select, textarea')]" +
        ".filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id)",
    );
    assert.deepEqual(unlabelled, []);
    await driver.executeScript("document.activeElement.blur(); window.scrollTo(0, 0)");
    const order = [];
    for (let i = 0; i < 18; i++) {
      await driver.actions().sendKeys(Key.TAB).perform();
      order.push(await driver.executeScript("return document.activeElement.id"));
    }
    // Focus cycles through the page (and the browser's own chrome): read one turn from the editor.
    const turn = order.slice(order.indexOf("policy"), order.indexOf("policy") + 14);
    assert.deepEqual(turn, [
      "policy", "req-method", "req-url", "req-headers", "req-cookies", "req-body", "req-unit",
      "req-fail", "explain-steps", "gray-rule", "gray-percent", "gray-users", "policy-b", "copy-to-b",
    ]);
  });

  it("measures the update time after an edit of a 10,000-entry policy", async (t) => {
    const policy = JSON.parse(example);
    const ranges = [[], []];
    for (let i = 0; i < 10000; i++) ranges[i % 2].push(`${i * 10}~${i * 10 + 9}`);
    policy.rules[0].ranges = [{ unit: "uc", ranges: ranges[0] }, { unit: "jc", ranges: ranges[1] }];
    const big = JSON.stringify(policy, null, 1);
    await paste("policy", big);
    await waitText("status", /^valid, version/);
    const at = big.indexOf('"version": "') + '"version": "'.length;
    await driver.executeScript("const e = document.getElementById('policy'); e.focus(); e.setSelectionRange(arguments[0], arguments[0])", at);
    const times = [];
    const parts = [];
    for (let i = 0; i < 10; i++) {
      const key = i % 2 === 0 ? "x" : Key.BACK_SPACE;
      await driver.actions().sendKeys(key).perform();
      await driver.wait(async () => (await text("status")).includes(i % 2 === 0 ? "xdada" : "version dada"), WAIT);
      times.push(Number(await driver.executeScript("return document.body.dataset.updateMs")));
      parts.push(await driver.executeScript("return JSON.stringify(window.playgroundTimings)"));
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = (sorted[4] + sorted[5]) / 2;
    console.log(`parts of the update (ms): ${parts.join(" ")}`);
    const line = `update after an edit, 10,000-entry policy (${big.length} bytes): ` +
      `median ${median.toFixed(1)} ms, min ${sorted[0].toFixed(1)} ms, max ${sorted[9].toFixed(1)} ms over ${times.length} keystrokes`;
    t.diagnostic(line);
    console.log(line);
    assert.equal(times.length, 10);
    await screenshot("big", "map-section");
  });
});
