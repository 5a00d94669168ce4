// Starts what the browser test needs, and stops all of it: the page's static server, Debian's
// chromedriver on a free loopback port, and headless Chromium with an empty profile (this
// machine has no network beyond loopback, so everything that calls home is off).

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Builder } from "selenium-webdriver";
import chrome from "selenium-webdriver/chrome.js";
import { serve } from "../serve.mjs";

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitFor(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** PIDs of processes whose command line names `marker` (our own profile directory). */
function pidsWith(marker) {
  const pids = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(marker)) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Server, chromedriver and a Chromium session; `stop()` ends every one of them. */
export async function start(wwwDir) {
  const server = await serve(wwwDir, 0);
  const profile = mkdtempSync(join(tmpdir(), "unitgate-playground-chromium-"));
  const port = await freePort();
  const driverProcess = spawn("chromedriver", [`--port=${port}`], { stdio: "ignore" });
  // What can be ended synchronously, also when the test process exits early.
  const kill = () => {
    driverProcess.kill("SIGTERM");
    for (const pid of pidsWith(profile)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    rmSync(profile, { recursive: true, force: true });
  };
  process.once("exit", kill);
  const stop = async (driver) => {
    try {
      await driver?.quit();
    } catch {
      // the session is gone already
    }
    kill();
    process.removeListener("exit", kill);
    await new Promise((r) => server.close(r));
  };
  try {
    await waitFor(`http://127.0.0.1:${port}/status`, 20000);
    const options = new chrome.Options()
      .setChromeBinaryPath("/usr/bin/chromium")
      .addArguments(
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", `--user-data-dir=${profile}`, "--window-size=1400,1600",
      );
    const driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .forBrowser("chrome")
      .setChromeOptions(options)
      .build();
    const url = `http://127.0.0.1:${server.address().port}/`;
    return { driver, url, stop: () => stop(driver) };
  } catch (e) {
    await stop(null);
    throw e;
  }
}
