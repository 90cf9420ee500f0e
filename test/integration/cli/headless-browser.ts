// A real headless browser for tests: Debian's chromium, driven by puppeteer-core over a
// pipe (puppeteer-core never downloads a browser), started inside a network namespace
// the test made (nsenter --net execs chromium, so the pid is the browser's own), with a
// fresh profile directory removed on close. Whatever it opens, it reaches only that
// namespace's loopback; background and update traffic is switched off besides.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";
const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 5_000;

export interface HeadlessBrowser {
  browser: Browser;
  /** Closes the browser (killing it by its pid if it does not go within 5 s) and removes its profile. */
  close(): Promise<void>;
}

export async function launchHeadlessBrowser(netnsPath: string): Promise<HeadlessBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-chromium-"));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: "/usr/bin/nsenter",
      // Our arguments only: puppeteer's defaults would go to nsenter. It adds --remote-debugging-pipe.
      ignoreDefaultArgs: true,
      pipe: true,
      timeout: LAUNCH_TIMEOUT_MS,
      protocolTimeout: LAUNCH_TIMEOUT_MS,
      args: [
        `--net=${netnsPath}`,
        "--",
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    async close() {
      const pid = browser.process()?.pid;
      try {
        await Promise.race([
          browser.close(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error("chromium did not close")), CLOSE_TIMEOUT_MS).unref(),
          ),
        ]);
      } catch {
        // The process group puppeteer started (detached), so chromium's helpers go with it.
        if (pid !== undefined) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            // Gone meanwhile.
          }
        }
      } finally {
        fs.rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
