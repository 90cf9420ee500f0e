// `cnikit lab` through the compiled executable: the default lab (vxlan-overlay) up twice
// changes nothing, every pair probes ok, a removed FDB entry is found by probe and by
// inspect; a bridge lab names an MTU black hole; down twice leaves nothing behind.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsFixture, addrs, fdb, links, routes } from "../../../netns-fixtures";
import { listNetnsNames, runChecked } from "../../../netns-fixtures/ip";
import { cnikit, cnikitOk, expectOneLineFailure } from "./run-cli";

interface PairReport {
  from: string;
  to: string;
  verdict: string;
  largestPayload?: number;
}

const LOCK_DIR = "/run/cnikit/locks";
const fixture = new NetnsFixture();
const overlayLab = `${fixture.prefix}vx`;
const bridgeLab = `${fixture.prefix}br`;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-lab-"));

afterAll(() => {
  try {
    for (const lab of [overlayLab, bridgeLab]) cnikit(["lab", "down", "--quiet", lab]);
  } finally {
    fixture.cleanup();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

const labNamespaces = (lab: string): string[] =>
  listNetnsNames()
    .filter((name) => name.startsWith(`${lab}-`))
    .sort();

/** What ip -j sees in every namespace of the lab (learned FDB entries left out: traffic changes them). */
function kernelView(lab: string): unknown {
  return labNamespaces(lab).map((ns) => ({
    ns,
    links: links(ns).map((link) => [link.ifname, link.mtu, link.master, link.address, link.operstate]),
    addrs: addrs(ns).flatMap((link) => link.addr_info.map((info) => `${link.ifname} ${info.local}/${info.prefixlen}`)),
    routes: routes(ns).map((route) => `${route.dst} ${route.gateway ?? ""} ${route.dev ?? ""}`),
    fdb: fdb(ns)
      .filter((entry) => entry.state === "permanent" || entry.mac === "00:00:00:00:00:00")
      .map((entry) => `${entry.mac} ${entry.ifname} ${entry.dst ?? ""}`),
  }));
}

function probeLab(lab: string, extra: string[] = []): { status: number | null; reports: PairReport[] } {
  const run = cnikit(["probe", "--json", "--lab", lab, ...extra]);
  return { status: run.status, reports: JSON.parse(run.stdout) as PairReport[] };
}

const hostOf = (label: string): string => label.split("/")[0] ?? "";
const daemonPids: number[] = [];

describe("cnikit lab, default topology (vxlan-overlay)", () => {
  it("comes up with a table of every container, its host and its addresses", () => {
    const run = cnikit(["lab", "up", "--name", overlayLab]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^\+ container /m);
    for (const label of ["h1/c1", "h1/c2", "h2/c1", "h2/c2"])
      expect(run.stdout).toMatch(
        new RegExp(`^${label}\\s+h\\d\\s+${overlayLab}-\\S+\\s+10\\.10\\.\\d+\\.\\d+/16$`, "m"),
      );
    expect(labNamespaces(overlayLab)).toEqual(
      ["h1", "h1-c1", "h1-c2", "h2", "h2-c1", "h2-c2", "underlay"].map((suffix) => `${overlayLab}-${suffix}`),
    );
    const ctrAddresses = addrs(`${overlayLab}-h2-c1`)
      .find((link) => link.ifname === "eth0")
      ?.addr_info.map((info) => info.local);
    expect(ctrAddresses).toContain("10.10.2.2");
  });

  it("up again changes nothing", () => {
    const before = kernelView(overlayLab);
    const run = cnikit(["lab", "up", "--name", overlayLab]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/^\+ /m);
    expect(kernelView(overlayLab)).toEqual(before);
  });

  it("probe reports every pair reachable with the overlay's datagram size", () => {
    const { status, reports } = probeLab(overlayLab);
    expect(reports).toHaveLength(12);
    for (const report of reports) expect(report).toMatchObject({ verdict: "ok", largestPayload: 1422 });
    expect(status).toBe(0);
  });

  it("runs a daemon in each host that served its plugin calls; status shows them", () => {
    const status = JSON.parse(cnikitOk(["lab", "status", "--json", overlayLab])) as {
      healthy: boolean;
      daemons: Array<{ host: string; pid: number; answering: boolean; served: number }>;
    };
    expect(status.healthy).toBe(true);
    expect(status.daemons.map((daemon) => [daemon.host, daemon.answering])).toEqual([
      ["h1", true],
      ["h2", true],
    ]);
    // Two containers per host, each ADD through the host's daemon (host-local in-process).
    for (const daemon of status.daemons) expect(daemon.served).toBeGreaterThanOrEqual(2);
    for (const daemon of status.daemons)
      expect(fs.readFileSync(`/proc/${daemon.pid}/cmdline`, "utf8")).toContain("daemon");
    daemonPids.push(...status.daemons.map((daemon) => daemon.pid));
    expect(cnikitOk(["lab", "status", overlayLab])).toMatch(/^h1\s+\d+\s+yes\s+\d+$/m);
  });

  it("status, inspect and diagram describe the lab", () => {
    expect(cnikitOk(["lab", "status", overlayLab])).toMatch(/healthy/);
    expect(cnikitOk(["inspect", overlayLab])).toMatch(/^h1\s+vx42\s+198\.18\.0\.2\s+-\s+-$/m);
    const mermaid = cnikitOk(["lab", "diagram", overlayLab]);
    expect(mermaid).toMatch(/^flowchart TB$/m);
    expect(mermaid).toMatch(/VTEP vni 42/);
    expect(mermaid).toContain('h1_vtep -. "vxlan 42" .- h2_vtep');
    expect(mermaid).toContain("10.10.1.2/16");
    expect(cnikitOk(["lab", "diagram", "--format", "dot", overlayLab])).toMatch(/^graph lab \{/);
    // scripts/setup.sh installs Graphviz, so the SVG path is exercised for real.
    const svg = path.join(workDir, "lab.svg");
    cnikitOk(["lab", "diagram", "--svg", svg, overlayLab]);
    const drawn = fs.readFileSync(svg, "utf8");
    expect(drawn).toMatch(/<svg[\s>]/);
    expect(drawn).toContain("10.10.1.2/16");
  });

  it("a removed FDB flood entry is named by probe (cross-host pairs fail) and by inspect", () => {
    for (const [host, peer] of [
      ["h1", "198.18.0.2"],
      ["h2", "198.18.0.1"],
    ] as const) {
      const hostNs = `${overlayLab}-${host}`;
      // The flood entry, and what the VTEP learned through it, so nothing crosses any more.
      for (const entry of fdb(hostNs, "vx42").filter((each) => each.dst === peer)) {
        runChecked(["bridge", "-n", hostNs, "fdb", "del", entry.mac, "dev", "vx42", "dst", peer]);
      }
    }
    for (const ns of labNamespaces(overlayLab)) runChecked(["ip", "-n", ns, "neigh", "flush", "all"]);
    const { status, reports } = probeLab(overlayLab, ["--no-sizes", "--timeout", "300"]);
    expect(status).toBe(1);
    for (const report of reports)
      expect(report.verdict).toBe(hostOf(report.from) === hostOf(report.to) ? "ok" : "unreachable");
    const inspect = cnikit(["inspect", overlayLab]);
    expect(inspect.status).toBe(1);
    expect(inspect.stdout).toMatch(/^h1\s+vx42\s+-\s+198\.18\.0\.2\s+-$/m);
    expect(cnikit(["lab", "status", overlayLab]).status).toBe(0);
  });

  it("down twice leaves no namespace, lease or file", () => {
    const stateDir = `/run/cnikit/labs/${overlayLab}`;
    expect(fs.readdirSync(path.join(stateDir, "h1", "ipam", `${overlayLab}-net`)).length).toBeGreaterThan(0);
    const hostInodes = ["h1", "h2"].map((host) => fs.statSync(`/run/netns/${overlayLab}-${host}`).ino);
    const lockFiles = (): string[] =>
      fs.existsSync(LOCK_DIR)
        ? fs.readdirSync(LOCK_DIR).filter((file) => hostInodes.some((inode) => file.startsWith(`${inode}-`)))
        : [];
    expect(lockFiles().length).toBeGreaterThan(0);
    cnikitOk(["lab", "down", overlayLab]);
    expect(
      daemonPids.filter(
        (pid) =>
          fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("daemon"),
      ),
    ).toEqual([]);
    expect(lockFiles()).toEqual([]);
    expect(labNamespaces(overlayLab)).toEqual([]);
    expect(fs.existsSync(stateDir)).toBe(false);
    expect(fs.existsSync(`${stateDir}.json`)).toBe(false);
    const again = cnikit(["lab", "down", overlayLab]);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/is not up/);
  });
});

describe("cnikit lab with a bridge topology file", () => {
  const topology = path.join(workDir, "bridge.yaml");
  fs.writeFileSync(
    topology,
    `name: ${bridgeLab}\nplugin: bridge\ndaemon: false\nhosts:\n  - name: a\n    containers: [web, db]\n  - b\ncontainersPerHost: 1\n`,
  );

  it("routes every slice between hosts, and probe names an MTU black hole", () => {
    const up = cnikit(["lab", "up", "--quiet", topology]);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toBe("");
    expect(up.stdout).toMatch(/^a\/web\s+a\s+\S+\s+10\.10\.1\.2\/24$/m);
    expect(routes(`${bridgeLab}-a`, 4)).toContainEqual(
      expect.objectContaining({ dst: "10.10.2.0/24", gateway: "198.18.0.2" }),
    );
    expect(probeLab(bridgeLab).status).toBe(0);
    // daemon: false: the calls ran standalone, and no daemon answers in the hosts.
    expect(cnikitOk(["lab", "status", bridgeLab])).toMatch(/no daemons: plugin calls run standalone/);
    expect(cnikit(["daemon", "status", "--netns", `${bridgeLab}-a`]).status).toBe(1);

    runChecked(["ip", "-n", `${bridgeLab}-b-c1`, "link", "set", "eth0", "mtu", "1400"]);
    const { status, reports } = probeLab(bridgeLab);
    expect(status).toBe(1);
    for (const report of reports) expect(report.verdict).toBe(report.to === "b/c1" ? "mtu-black-hole" : "ok");
    const text = cnikit(["probe", "--lab", bridgeLab]);
    expect(text.stdout).toMatch(
      /^a\/web\s+b\/c1\s+10\.10\.2\.2\s.*mtu-black-hole: datagrams over 1\d\d\d bytes are lost/m,
    );
  });

  it("refuses another topology under the same name, and down removes it", () => {
    const other = path.join(workDir, "other.json");
    fs.writeFileSync(other, JSON.stringify({ name: bridgeLab, plugin: "veth" }));
    expect(expectOneLineFailure(cnikit(["lab", "up", other]))).toMatch(/already up with another topology/);
    cnikitOk(["lab", "down", "--quiet", bridgeLab]);
    expect(labNamespaces(bridgeLab)).toEqual([]);
  });
});

describe("cnikit lab: bad arguments give one line", () => {
  it.each([
    [["lab", "up", "/nonexistent/topology.yaml"], /cannot read topology/],
    [["lab", "status", "no-such-lab"], /lab no-such-lab is not up/],
    [["lab", "diagram", "--format", "png", "no-such-lab"], /not up|--format/],
    [["lab", "frob"], /unknown command/],
  ])("cnikit %j", (args, message) => {
    expect(expectOneLineFailure(cnikit(args as string[]))).toMatch(message);
  });

  it("names the topology field that is wrong", () => {
    const bad = path.join(workDir, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ hosts: [{ name: "A_B" }] }));
    expect(expectOneLineFailure(cnikit(["lab", "up", bad]))).toMatch(/topology hosts\[0\]\.name: must be/);
    fs.writeFileSync(bad, JSON.stringify({ plugin: "macvlan" }));
    expect(expectOneLineFailure(cnikit(["lab", "up", bad]))).toMatch(/topology plugin: must be one of/);
    fs.writeFileSync(bad, "{not json");
    expect(expectOneLineFailure(cnikit(["lab", "up", bad]))).toMatch(/is not valid JSON/);
  });
});
