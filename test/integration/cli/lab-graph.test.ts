// `cnikit lab graph` on a running lab, looked at in a real headless browser (Debian's
// chromium through puppeteer-core): the page written to a file and the live page from
// `--serve` both show every host and container; a container whose link is taken down
// shows as failed after a probe, and the live page shows it without being reloaded. The
// server and the browser both run inside the lab's host h2 (nsenter --net), so they talk
// over that namespace's loopback only; nothing of ours listens in the root namespace.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture } from "../../../netns-fixtures";
import { type HeadlessBrowser, launchHeadlessBrowser } from "./headless-browser";
import { cnikit, cnikitBin, cnikitOk, expectOneLineFailure } from "./run-cli";

const fixture = new NetnsFixture();
const lab = `${fixture.prefix}gr`;
fs.mkdirSync("/run/cnikit", { recursive: true });
const labDir = fs.mkdtempSync("/run/cnikit/test-labs-");
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-graph-"));
const env = { CNIKIT_LAB_DIR: labDir };
/** Where the server and the browser run: host h2 of the lab (h1/c1 is the one broken on purpose). */
const serverNetns = `/run/netns/${lab}-h2`;
const NODES = ["underlay", "h1", "h2", "h1/c1", "h1/c2", "h2/c1"];

let headless: HeadlessBrowser | undefined;
let server: ChildProcess | undefined;
let serverExit: Promise<number | null> | undefined;

/** `promise`, or a failure naming `what` after `ms`: no wait in this file is unbounded. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const run = (args: string[]): ReturnType<typeof cnikit> => cnikit(args, { env });
const probe = (): ReturnType<typeof cnikit> => run(["probe", "--no-sizes", "--timeout", "300"]);

beforeAll(async () => {
  const topology = path.join(workDir, "topology.yaml");
  fs.writeFileSync(topology, `name: ${lab}\nhosts: [h1, { name: h2, containers: [c1] }]\ncontainersPerHost: 2\n`);
  const up = run(["lab", "up", "--quiet", topology]);
  if (up.status !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  const first = probe();
  if (first.status !== 0) throw new Error(`a healthy lab's probe failed: ${first.stdout}${first.stderr}`);
  headless = await launchHeadlessBrowser(serverNetns);
});

afterAll(async () => {
  try {
    // The browser and the server first: they sit in one of the lab's namespaces.
    await headless?.close();
    if (server && serverExit && server.exitCode === null && server.signalCode === null) {
      server.kill("SIGKILL");
      await within(serverExit, 5_000, "lab graph --serve after SIGKILL");
    }
    run(["lab", "down", "--quiet", lab]);
  } finally {
    fixture.cleanup();
    for (const dir of [labDir, workDir]) fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts `lab graph --serve 127.0.0.1:0` in host h2; resolves with the URL it printed. */
async function startServer(): Promise<string> {
  const child = spawn(
    "nsenter",
    [`--net=${serverNetns}`, cnikitBin, "lab", "graph", "--serve", "127.0.0.1:0", "--poll", "300"],
    {
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  server = child;
  serverExit = new Promise((resolve) => child.on("close", resolve));
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line within 10 s; stderr: ${stderr}`)), 10_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const url = /serving lab \S+ on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      reject(new Error(`lab graph --serve exited ${status}: ${stderr}`));
    });
  });
}

/** Listening TCP sockets of a namespace (`ss` in it), as "address:port" strings. */
function listeners(netnsPath?: string): string[] {
  const argv = [...(netnsPath ? ["nsenter", `--net=${netnsPath}`] : []), "ss", "-Hltn"];
  const ss = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 5_000 });
  return ss.stdout.split("\n").flatMap((line) => line.trim().split(/\s+/)[3] ?? []);
}

interface Seen {
  nodes: string[];
  text: string;
  verdicts: Record<string, string>;
  linkStates: Record<string, string>;
  health: Record<string, string>;
}

/** What the page shows now, read from the DOM the browser built. */
async function seen(page: Page): Promise<Seen> {
  return page.evaluate(`(() => {
    const all = (selector, attribute) => Array.from(document.querySelectorAll(selector), (el) => [el.getAttribute(attribute), el]);
    return {
      nodes: Array.from(document.querySelectorAll("svg [data-node]"), (el) => el.getAttribute("data-node")),
      text: document.body.innerText + " " + Array.from(document.querySelectorAll("svg text"), (el) => el.textContent).join(" "),
      verdicts: Object.fromEntries(all("td[data-pair]", "data-pair").map(([pair, el]) => [pair, el.getAttribute("data-verdict")])),
      linkStates: Object.fromEntries(all("svg [data-link]", "data-link").map(([link, el]) => [link, el.getAttribute("data-state")])),
      health: Object.fromEntries(all("svg [data-health]", "data-node").map(([node, el]) => [node, el.getAttribute("data-health")])),
    };
  })()`) as Promise<Seen>;
}

/** Opens a tab that records every request it makes and every error it logs (a CSP violation is one). */
async function openTab(): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  if (!headless) throw new Error("no browser");
  const page = await headless.browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.setViewport({ width: 1100, height: 800 });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  return { page, requests, errors };
}

function expectEveryNode(shown: Seen): void {
  expect(shown.nodes.sort()).toEqual([...NODES].sort());
  for (const label of [
    "host h1",
    "host h2",
    "h1/c1",
    "h1/c2",
    "h2/c1",
    `${lab}-h1-c2:eth0`,
    "ul0 198.18.0.1/24",
    "ul0 198.18.0.2/24",
    "underlay switch",
  ])
    expect(shown.text).toContain(label);
}

describe("cnikit lab graph", () => {
  it("writes mermaid and dot like lab diagram, HTML to stdout, and refuses a non-loopback --serve in one line", () => {
    expect(cnikitOk(["lab", "graph", "--format", "mermaid"], { env })).toMatch(/^flowchart TB\n/);
    expect(cnikitOk(["lab", "graph", "--format", "dot", lab], { env })).toMatch(/^graph lab \{\n/);
    expect(cnikitOk(["lab", "graph"], { env })).toMatch(/^<!DOCTYPE html>\n/);
    expect(expectOneLineFailure(run(["lab", "graph", "--serve", "0.0.0.0:8080"]))).toMatch(
      /0\.0\.0\.0 is not a loopback address/,
    );
    expect(expectOneLineFailure(run(["lab", "graph", "--serve", "198.18.0.2:8080"]))).toMatch(
      /198\.18\.0\.2 is not a loopback address/,
    );
    expect(expectOneLineFailure(run(["lab", "graph", "--format", "png"]))).toMatch(
      /--format must be html, mermaid, dot/,
    );
  });

  it("the page written to a file shows every host and container and the last probe, all ok, loading nothing else", async () => {
    const file = path.join(workDir, "lab.html");
    cnikitOk(["lab", "graph", "-o", file], { env });
    const { page, requests, errors } = await openTab();
    try {
      await page.goto(`file://${file}`, { waitUntil: "load" });
      const shown = await seen(page);
      expectEveryNode(shown);
      expect(Object.keys(shown.verdicts)).toHaveLength(6);
      expect(Object.values(shown.verdicts)).toEqual(Array(6).fill("ok"));
      expect(Object.values(shown.health)).toEqual(["ok", "ok", "ok"]);
      expect(requests).toEqual([`file://${file}`]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("the live page from --serve follows the lab: a link taken down shows as failed after a probe, without a reload", async () => {
    const url = await startServer();
    const port = new URL(url).port;
    // Bound to the one address given, in h2's namespace only.
    expect(listeners(serverNetns)).toContain(`127.0.0.1:${port}`);
    expect(listeners().filter((address) => address.endsWith(`:${port}`))).toEqual([]);

    const { page, requests, errors } = await openTab();
    try {
      await page.goto(url, { waitUntil: "load" });
      expectEveryNode(await seen(page));
      expect((await seen(page)).verdicts["h1/c1>h2/c1"]).toBe("ok");
      await page.evaluate("window.notReloaded = true");

      cnikitOk(["lab", "link", "down", "h1/c1"], { env });
      expect(probe().status).toBe(1);
      await page.waitForFunction(
        `document.querySelector('td[data-pair="h1/c1>h2/c1"]')?.getAttribute("data-verdict") === "unreachable"`,
        { timeout: 10_000 },
      );
      const shown = await seen(page);
      expect(await page.evaluate("window.notReloaded")).toBe(true);
      for (const [pair, verdict] of Object.entries(shown.verdicts))
        expect(verdict, pair).toBe(pair.includes("h1/c1") ? "unreachable" : "ok");
      expect(shown.health).toEqual({ "h1/c1": "failed", "h1/c2": "partial", "h2/c1": "partial" });
      expect(shown.linkStates["h1/c1"]).toBe("down");
      expect(shown.text).toMatch(/4 of 6 pairs FAILED/);
      expect(await page.$eval("#live", (element) => element.className)).toBe("live");
      // Only the page and its state.json, from the same server.
      expect(requests.filter((each) => !each.startsWith(`${url}state.json?since=`))).toEqual([url]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }

    server?.kill("SIGTERM");
    expect(await within(serverExit as Promise<number | null>, 5_000, "lab graph --serve after SIGTERM")).toBe(0);
    expect(listeners(serverNetns)).not.toContain(`127.0.0.1:${port}`);
  });
});
