// The live side of `cnikit lab graph` without a socket: which addresses --serve takes,
// what each request is answered (Host check, routes, state.json's hash), and the probe
// record `cnikit probe` leaves for the graph.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CliError } from "../../../src/cli/errors";
import type { GraphModel } from "../../../src/cli/lab/graph/model";
import { type ServeGraphOptions, type StateResponse, respond } from "../../../src/cli/lab/graph/serve";
import { isLoopbackAddress, parseServeAddress } from "../../../src/cli/lab/graph/serve-address";
import { readLabProbe, recordLabProbe } from "../../../src/cli/lab/probe-record";
import type { PairReport } from "../../../src/cli/probe/report";

describe("--serve addresses", () => {
  it.each([
    ["127.0.0.1:8080", { host: "127.0.0.1", port: 8080 }],
    ["127.1.2.3:0", { host: "127.1.2.3", port: 0 }],
    ["[::1]:9000", { host: "::1", port: 9000 }],
    ["[0:0:0:0:0:0:0:1]:9000", { host: "0:0:0:0:0:0:0:1", port: 9000 }],
  ])("takes %s", (text, address) => {
    expect(parseServeAddress(text)).toEqual(address);
  });

  it.each([
    ["0.0.0.0:8080", "0.0.0.0 is not a loopback address"],
    ["198.18.0.1:8080", "198.18.0.1 is not a loopback address"],
    ["[::]:8080", ":: is not a loopback address"],
    ["[::ffff:127.0.0.1]:8080", "is not a loopback address"],
    ["localhost:8080", '"localhost" is not an IP address'],
    ["127.0.0.1", "want ADDRESS:PORT"],
    ["127.0.0.1:70000", "want ADDRESS:PORT"],
    [":8080", "want ADDRESS:PORT"],
  ])("refuses %s", (text, message) => {
    expect(() => parseServeAddress(text)).toThrow(CliError);
    expect(() => parseServeAddress(text)).toThrow(message);
  });

  it("knows loopback", () => {
    expect([
      isLoopbackAddress("127.255.0.1"),
      isLoopbackAddress("128.0.0.1"),
      isLoopbackAddress("::1"),
      isLoopbackAddress("::2"),
    ]).toEqual([true, false, true, false]);
  });
});

describe("the live server's answers", () => {
  const model: GraphModel = {
    lab: "demo",
    plugin: "veth",
    underlay: { subnet: "198.18.0.0/24", netns: "demo-underlay", mtu: 1500 },
    hosts: [
      {
        name: "h1",
        netns: "demo-h1",
        slice: "10.10.1.0/24",
        gateway: "10.10.1.1",
        link: { target: "h1", netns: "demo-h1", ifName: "ul0", addresses: [], mtu: 1500, state: "up", impairments: [] },
      },
    ],
    containers: [],
    otherLinks: [],
  };
  let labUp = true;
  const options: ServeGraphOptions = {
    address: { host: "127.0.0.1", port: 8080 },
    lab: "demo",
    pollMs: 1000,
    build: () => {
      if (!labUp) throw new CliError("lab demo is not up");
      return model;
    },
  };
  const ask = (url: string, host = "127.0.0.1:8080", method = "GET") =>
    respond(options, "127.0.0.1:8080", { method, host, url });

  afterEach(() => {
    labUp = true;
  });

  it("serves the live page with its policy, and state.json with a hash that leaves the body out when unchanged", () => {
    const home = ask("/");
    expect(home.status).toBe(200);
    expect(home.headers["Content-Type"]).toBe("text/html; charset=utf-8");
    expect(home.headers["Content-Security-Policy"]).toMatch(/script-src 'sha256-[^']+'.*frame-ancestors 'none'/);
    expect(home.body).toContain("<script>");
    const first = JSON.parse(ask("/state.json").body) as StateResponse;
    expect(first).toMatchObject({
      lab: "demo",
      hash: expect.stringMatching(/^[0-9a-f]{16}$/),
      body: expect.stringContaining('data-node="h1"'),
      model: { lab: "demo" },
    });
    expect(home.body).toContain(`data-hash="${first.hash}"`);
    const again = JSON.parse(ask(`/state.json?since=${first.hash}`).body) as StateResponse;
    expect(again.hash).toBe(first.hash);
    expect(again.body).toBeUndefined();
  });

  it("answers a request for another Host name with 421 (DNS rebinding), and only GET on / and /state.json", () => {
    expect(ask("/", "evil.example:8080").status).toBe(421);
    expect(ask("/state.json", "localhost:8080").status).toBe(421);
    expect(ask("/", "127.0.0.1:8080", "POST").status).toBe(405);
    expect(ask("/etc/passwd").status).toBe(404);
  });

  it("says the lab is gone instead of failing", () => {
    labUp = false;
    expect(JSON.parse(ask("/state.json").body)).toMatchObject({ lab: "demo", error: "lab demo is not up" });
    expect(ask("/").status).toBe(503);
  });
});

describe("the recorded probe matrix", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the pairs between the lab's containers, replaced whole each time", () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-graph-"));
    dirs.push(stateDir);
    const plan = { name: "demo", stateDir, containers: [{ label: "h1/c1" }, { label: "h2/c1" }] } as Parameters<
      typeof recordLabProbe
    >[0];
    const pair = (from: string, to: string): PairReport => ({
      from,
      to,
      address: "10.10.2.2",
      verdict: "ok",
      explanation: "",
      sent: 3,
      received: 3,
    });
    expect(readLabProbe(plan)).toBeUndefined();
    recordLabProbe(plan, [pair("h1/c1", "h2/c1"), pair("other", "h1/c1")], new Date("2024-01-01T00:00:00Z"));
    expect(readLabProbe(plan)).toEqual({
      version: 1,
      lab: "demo",
      probedAt: "2024-01-01T00:00:00.000Z",
      reports: [pair("h1/c1", "h2/c1")],
    });
    expect(fs.readdirSync(stateDir)).toEqual(["probe.json"]);
    // A lab taken down while its probe ran: nothing is written where its state was.
    fs.rmSync(stateDir, { recursive: true });
    recordLabProbe(plan, [pair("h1/c1", "h2/c1")]);
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
