// Impairments and faults in a lab, through the compiled executable, measured with real
// packets: the topology's impairments in place after `lab up` (tc -j, nft -j, the queue
// process) and gone after `lab down`; a 20 ms delay in probe's round trips; 100% loss
// failing exactly the pairs that cross the link, `reset` restoring them; a corrupted
// byte failing the receiver's UDP checksum; `lab link down|up` on a container. On a
// kernel with netem the same checks hold, carried by the netem qdisc instead.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, links } from "../../../netns-fixtures";
import { listNetnsNames, runChecked } from "../../../netns-fixtures/ip";
import { cnikit, cnikitOk, expectOneLineFailure } from "./run-cli";

interface PairReport {
  from: string;
  to: string;
  verdict: string;
  rttMs?: { min: number; avg: number; max: number };
}
interface ShowJson {
  netem: boolean | null;
  queueProcess: { pid: number; running: boolean } | null;
  links: {
    target: string;
    state: string;
    peer?: { netns: string; ifName: string };
    impairment: Record<string, string>;
    mechanisms: { impairment: string; mechanism: string; active: boolean }[];
  }[];
}
interface Qdisc {
  kind: string;
  dev: string;
  root?: boolean;
  options?: { rate?: number };
}

const fixture = new NetnsFixture();
const lab = `${fixture.prefix}im`;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-impair-"));
const stateDir = `/run/cnikit/labs/${lab}`;
const ns = (node: string): string => `${lab}-${node.replace("/", "-")}`;
const hostOf = (label: string): string => label.split("/")[0] ?? "";

beforeAll(() => {
  const topology = path.join(workDir, "impaired.yaml");
  // h2's underlay link: a small delay (the queue process without netem); h2/c2's link: a rate and an MTU.
  fs.writeFileSync(
    topology,
    `name: ${lab}\nimpairments:\n  h2: { delay: 2ms }\n  h2/c2: { rate: 200mbit, mtu: 1400 }\n`,
  );
  const up = cnikit(["lab", "up", "--quiet", topology], { timeoutMs: 90_000 });
  if (up.status !== 0) throw new Error(`lab up failed: ${up.stderr}`);
});

afterAll(() => {
  try {
    cnikit(["lab", "down", "--quiet", lab]);
  } finally {
    fixture.cleanup();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

function show(target?: string): ShowJson {
  return JSON.parse(
    cnikitOk(["lab", "netem", "show", "--json", "--lab", lab, ...(target ? [target] : [])]),
  ) as ShowJson;
}

function probe(): PairReport[] {
  const run = cnikit(["probe", "--json", "--no-sizes", "--timeout", "300", "--lab", lab]);
  return JSON.parse(run.stdout) as PairReport[];
}

function qdiscs(netns: string): Qdisc[] {
  return JSON.parse(runChecked(["tc", "-n", netns, "-j", "qdisc", "show"])) as Qdisc[];
}

function nftRuleset(netns: string): {
  nftables: Record<string, { family?: string; name?: string; table?: string; comment?: string }>[];
} {
  return JSON.parse(runChecked(["nsenter", `--net=/run/netns/${netns}`, "nft", "-j", "list", "ruleset"]));
}

function processAlive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("impair-queue");
  } catch {
    return false;
  }
}

function queuePids(): number[] {
  const status = JSON.parse(fs.readFileSync(path.join(stateDir, "impair-queue.json"), "utf8")) as {
    pid: number;
    queues: { readerPid: number }[];
  };
  return [status.pid, ...status.queues.map((queue) => queue.readerPid)];
}

describe("lab impairments", () => {
  let netem = false;

  it("puts the topology's impairments in place at lab up", () => {
    const view = show();
    netem = view.netem === true;
    expect(view.links.map((link) => link.target).sort()).toEqual(["h2", "h2/c2"]);
    for (const link of view.links)
      for (const mechanism of link.mechanisms)
        expect(mechanism, `${link.target} ${mechanism.impairment}`).toMatchObject({ active: true });
    const ctr = ns("h2/c2");
    const rootOf = (netns: string, dev: string): Qdisc | undefined =>
      qdiscs(netns).find((qdisc) => qdisc.dev === dev && qdisc.root);
    expect(rootOf(ctr, "eth0")).toMatchObject(
      netem ? { kind: "netem" } : { kind: "tbf", options: { rate: 25_000_000 } },
    );
    expect(links(ctr).find((link) => link.ifname === "eth0")?.mtu).toBe(1400);
    // The container's host-side end has the link's MTU too.
    const peer = view.links.find((link) => link.target === "h2/c2")?.peer;
    expect(peer?.netns).toBe(ns("h2"));
    expect(links(ns("h2")).find((link) => link.ifname === peer?.ifName)?.mtu).toBe(1400);
    if (netem) {
      expect(rootOf(ns("h2"), "ul0")?.kind).toBe("netem");
      return;
    }
    const ruleset = nftRuleset(ns("h2")).nftables;
    expect(ruleset).toContainEqual({ table: expect.objectContaining({ family: "ip", name: "cnikit_impair" }) });
    expect(ruleset.map((entry) => entry.rule?.comment)).toContain("cnikit impair ul0 queue");
    expect(view.queueProcess?.running).toBe(true);
    expect(queuePids().every(processAlive)).toBe(true);
  });

  it("a 20 ms delay on h1's link shows in the round trips of the pairs that cross it", () => {
    cnikitOk(["lab", "netem", "set", "h1", "--delay", "20ms", "--lab", lab]);
    expect(show("h1").links[0]?.mechanisms.map((each) => [each.impairment, each.mechanism, each.active])).toEqual([
      ["delay", netem ? "netem" : "nfqueue", true],
    ]);
    const reports = probe();
    expect(reports).toHaveLength(12);
    for (const report of reports) {
      expect(report.verdict, `${report.from} -> ${report.to}`).toBe("ok");
      if (hostOf(report.from) !== hostOf(report.to))
        expect(report.rttMs?.min, `${report.from} -> ${report.to}`).toBeGreaterThanOrEqual(20);
      else if (hostOf(report.from) === "h1")
        expect(report.rttMs?.min, `${report.from} -> ${report.to}`).toBeLessThan(10);
    }
  });

  it("100% loss on h1's link (replacing its delay) fails exactly the pairs crossing it; reset restores them", () => {
    const set = cnikitOk(["lab", "netem", "set", "h1", "--loss", "100%", "--lab", lab]);
    expect(set).toMatch(/^h1\s+\S+:ul0\s+loss 100%\s+(netem qdisc|nftables ip cnikit_impair: drop)\s+yes$/m);
    expect(show("h1").links[0]?.impairment).toEqual({ loss: "100%" });
    for (const report of probe())
      expect(report.verdict, `${report.from} -> ${report.to}`).toBe(
        hostOf(report.from) === hostOf(report.to) ? "ok" : "unreachable",
      );
    cnikitOk(["lab", "netem", "reset", "h1", "--lab", lab]);
    expect(show("h1").links[0]?.mechanisms).toEqual([]);
    for (const report of probe()) expect(report.verdict, `${report.from} -> ${report.to}`).toBe("ok");
  });

  it("corruption changes a byte and nothing else: the receivers' UDP checksums fail", () => {
    const checksumErrors = (): number =>
      ["h1/c2", "h2/c1", "h2/c2"].reduce(
        (sum, node) =>
          sum +
          Number(
            /UdpInCsumErrors\s+(\d+)/.exec(
              runChecked(["ip", "netns", "exec", ns(node), "nstat", "-az", "UdpInCsumErrors"]),
            )?.[1] ?? 0,
          ),
        0,
      );
    const before = checksumErrors();
    cnikitOk(["lab", "netem", "set", "h1/c1", "--corrupt", "100%", "--lab", lab]);
    for (const report of probe())
      expect(report.verdict, `${report.from} -> ${report.to}`).toBe(
        report.from === "h1/c1" || report.to === "h1/c1" ? "unreachable" : "ok",
      );
    expect(checksumErrors()).toBeGreaterThan(before);
    cnikitOk(["lab", "netem", "reset", "h1/c1", "--lab", lab]);
  });

  it("link down on a container fails its pairs; up restores them", () => {
    cnikitOk(["lab", "link", "down", "h1/c2", "--lab", lab]);
    expect(show("h1/c2").links[0]).toMatchObject({ state: "down", mechanisms: [{ impairment: "link", active: true }] });
    // The container keeps its address and routes: only the far end went down.
    expect(links(ns("h1/c2")).find((link) => link.ifname === "eth0")?.flags).toContain("UP");
    for (const report of probe())
      expect(report.verdict, `${report.from} -> ${report.to}`).toBe(
        report.from === "h1/c2" || report.to === "h1/c2" ? "unreachable" : "ok",
      );
    cnikitOk(["lab", "link", "up", "h1/c2", "--lab", lab]);
    expect(show("h1/c2").links[0]?.state).toBe("up");
    for (const report of probe()) expect(report.verdict, `${report.from} -> ${report.to}`).toBe("ok");
  });

  it("refuses bad targets and values in one line", () => {
    expect(expectOneLineFailure(cnikit(["lab", "netem", "set", "h9", "--delay", "5ms", "--lab", lab]))).toMatch(
      /has no host h9/,
    );
    expect(expectOneLineFailure(cnikit(["lab", "netem", "set", "h1", "--lab", lab]))).toMatch(/nothing to set on h1/);
    expect(expectOneLineFailure(cnikit(["lab", "netem", "set", "h1", "--loss", "lots", "--lab", lab]))).toMatch(
      /--loss: must be a percentage/,
    );
    expect(expectOneLineFailure(cnikit(["lab", "netem", "set", "h1", "--jitter", "5ms", "--lab", lab]))).toMatch(
      /--jitter: needs a delay/,
    );
  });

  it("lab down stops the queue process and leaves nothing behind", () => {
    const pids = netem ? [] : queuePids();
    cnikitOk(["lab", "down", "--quiet", lab]);
    expect(listNetnsNames().filter((name) => name.startsWith(`${lab}-`))).toEqual([]);
    for (const pid of pids) expect(processAlive(pid), `pid ${pid}`).toBe(false);
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
