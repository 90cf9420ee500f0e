// `cnikit trace` on a default lab (vxlan-overlay l2, 2 hosts x 2 containers), through the
// compiled executable: a healthy pair is delivered and seen at every hop; then one fault
// at a time, each made on purpose and undone, is named at the right hop for the right
// reason while the rest of the path is still listed: a removed FDB entry, a removed
// neighbour entry, a container's host-side veth down, the underlay MTU below a DF packet,
// an nftables rule dropping in one host, 100% loss on a host's underlay link. Nothing of
// the trace's own (tracing instances, nftables tables) is left behind. The lab lives in a
// private lab directory, so it is "the only lab up" whatever else runs on this machine.
// Then vxlan-overlay l3 (two fixture hosts, NETNS=ADDRESS endpoints), where the VTEP's
// neighbour entries are the plugin's: one removed can never come back, and says so.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NetnsFixture } from "../../../netns-fixtures";
import { runChecked } from "../../../netns-fixtures/ip";
import { type Attached, attachContainers, l3Config, tempDir } from "../vxlan-overlay/harness";
import { cnikit, cnikitOk, expectOneLineFailure } from "./run-cli";

interface Step {
  index: number;
  node: string;
  netns: string;
  kind: string;
  ifName?: string;
  status: string;
  fault?: string;
  assumed?: boolean;
  seenAtMs?: number;
}
interface Hop {
  step: number;
  node: string;
  kind: string;
  ifName?: string;
}
interface TraceReport {
  path: Step[];
  live: {
    delivered: boolean;
    notes: string[];
    icmp: { type: number; code: number; mtu?: number }[];
    kernelDrops: { reason: string; location: string }[];
    nftDrops: { netns: string; family: string; table: string; chain: string; handle?: number }[];
  } | null;
  verdict: { delivered: boolean; lastSeen?: Hop; stoppedAt?: Hop; reasons: string[] };
}

const fixture = new NetnsFixture();
const lab = `${fixture.prefix}tr`;
fs.mkdirSync("/run/cnikit", { recursive: true });
const labDir = fs.mkdtempSync("/run/cnikit/test-labs-");
const env = { CNIKIT_LAB_DIR: labDir };
const ns = (node: string): string => `${lab}-${node.replace("/", "-")}`;
const C2_ADDRESS = "10.10.2.2";

function trace(args: string[] = []): { status: number | null; report: TraceReport; stdout: string } {
  const run = cnikit(["trace", "h1/c1", "h2/c1", "--json", ...args], { env, timeoutMs: 30_000 });
  if (run.stderr.trim() !== "") throw new Error(`trace printed on stderr: ${run.stderr}`);
  return { status: run.status, report: JSON.parse(run.stdout) as TraceReport, stdout: run.stdout };
}

/** The kernel said it where it could: only checked when the tracing helper ran on this machine. */
function tracerRan(report: TraceReport): boolean {
  return !(report.live?.notes ?? []).some((note) => note.startsWith("no kernel drop reasons"));
}

/** Lost at `where`, for `fault`, and the path listed on to the destination all the same. */
function expectStoppedAt(
  report: TraceReport,
  where: { node: string; kind: string; ifName?: string },
  fault?: string,
): Step {
  expect(report.verdict.delivered).toBe(false);
  expect(report.verdict.stoppedAt).toMatchObject(where);
  const step = report.path[(report.verdict.stoppedAt?.step ?? 0) - 1] as Step;
  if (fault) expect(step).toMatchObject({ status: "break", fault });
  expect(report.path.at(-1)).toMatchObject({ node: "h2/c1", kind: "deliver" });
  return step;
}

let healthy: TraceReport;

beforeAll(() => {
  const up = cnikit(["lab", "up", "--quiet", "--name", lab], { env, timeoutMs: 90_000 });
  if (up.status !== 0) throw new Error(`lab up failed: ${up.stderr}`);
});

const temp = tempDir("trace-l3");

afterAll(() => {
  try {
    cnikit(["lab", "down", "--quiet", lab], { env });
  } finally {
    fixture.cleanup();
    temp.remove();
    fs.rmSync(labDir, { recursive: true, force: true });
  }
});

describe("cnikit trace on a healthy pair", () => {
  it("lists every hop from the kernel's state and sees the packet at each, delivered, exit 0", () => {
    const run = trace();
    expect(run.status).toBe(0);
    healthy = run.report;
    expect(healthy.verdict.delivered).toBe(true);
    const hops = healthy.path.map(
      (step) =>
        `${step.node} ${step.kind}${step.ifName && step.kind !== "neighbour" && step.kind !== "route" ? ` ${step.ifName}` : ""}`,
    );
    const hostVeth = (node: string): string =>
      healthy.path.find(
        (step) =>
          step.node === node && step.kind === (node === "h1" ? "ingress" : "egress") && step.ifName?.startsWith("veth"),
      )?.ifName ?? "?";
    expect(hops).toEqual([
      "h1/c1 route",
      "h1/c1 neighbour",
      "h1/c1 egress eth0",
      `h1 ingress ${hostVeth("h1")}`,
      "h1 bridge lab0",
      "h1 egress vx42",
      "h1 vtep vx42",
      "h1 route",
      "h1 neighbour",
      "h1 egress ul0",
      "underlay ingress p-h1",
      "underlay bridge sw0",
      "underlay egress p-h2",
      "h2 ingress ul0",
      "h2 route",
      "h2 decap vx42",
      "h2 bridge lab0",
      `h2 egress ${hostVeth("h2")}`,
      "h2/c1 ingress eth0",
      "h2/c1 deliver",
    ]);
    expect(healthy.path.every((step) => step.status !== "break" && !step.assumed)).toBe(true);
    // Watched at every interface it crosses, in order.
    const watched = healthy.path.filter((step) => ["egress", "ingress", "decap"].includes(step.kind));
    expect(watched.map((step) => step.seenAtMs)).not.toContain(undefined);
    const times = watched.map((step) => step.seenAtMs ?? 0);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const text = cnikit(["trace", "h1/c1", "h2/c1"], { env });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^trace h1\/c1 10\.10\.1\.2 -> h2\/c1 10\.10\.2\.2: udp port 33434, 100 bytes, DF$/m);
    expect(text.stdout).toMatch(/^delivered in \d+\.\d{3} ms/m);
  });

  it("names the nodes there are for an unknown one", () => {
    expect(expectOneLineFailure(cnikit(["trace", "h1/c1", "h9"], { env }))).toMatch(
      /trace TO "h9": want a lab node \(h1\/c1\) or NETNS=ADDRESS; lab \S+ has no node "h9" \(nodes: h1, h2, h1\/c1, h1\/c2, h2\/c1, h2\/c2, underlay\)/,
    );
  });
});

describe("cnikit trace names each fault at its hop", () => {
  // Each fault starts from a pair that works (the one before was undone) and whose
  // neighbour entries are resolved, so the packet gets as far as the fault.
  beforeEach(() => {
    const before = trace();
    expect(before.report.verdict, before.stdout).toMatchObject({ delivered: true });
  });

  it("a removed FDB entry: the VTEP has no remote for the MAC", () => {
    const c2Mac = JSON.parse(runChecked(["ip", "-n", ns("h1/c1"), "-j", "neigh", "show", C2_ADDRESS]))[0]
      .lladdr as string;
    // The VTEP would learn the entry back from the next frame h2/c1 sends (an ARP probe): not while the fault lasts.
    runChecked(["ip", "-n", ns("h1"), "link", "set", "vx42", "type", "vxlan", "nolearning"]);
    spawnSync("bridge", ["-n", ns("h1"), "fdb", "del", c2Mac, "dev", "vx42", "self"]);
    runChecked(["bridge", "-n", ns("h1"), "fdb", "del", "00:00:00:00:00:00", "dev", "vx42", "dst", "198.18.0.2"]);
    try {
      const { status, report } = trace();
      expect(status).toBe(1);
      expectStoppedAt(report, { node: "h1", kind: "vtep", ifName: "vx42" }, "no-fdb-entry");
      expect(report.verdict.lastSeen).toMatchObject({ node: "h1", kind: "egress", ifName: "vx42" });
      expect(report.verdict.reasons[0]).toMatch(
        /vx42 has no FDB entry for \S+ and no flood entry .*\(bridge -n \S+-h1 fdb show dev vx42\)/,
      );
      if (tracerRan(report))
        expect(report.live?.kernelDrops).toContainEqual(
          expect.objectContaining({ reason: "NO_TX_TARGET", location: expect.stringMatching(/^vxlan_xmit/) }),
        );
    } finally {
      runChecked(["bridge", "-n", ns("h1"), "fdb", "append", "00:00:00:00:00:00", "dev", "vx42", "dst", "198.18.0.2"]);
      runChecked(["ip", "-n", ns("h1"), "link", "set", "vx42", "type", "vxlan", "learning"]);
    }
  });

  it("a removed neighbour entry (that ARP cannot bring back): INCOMPLETE at the sender", () => {
    runChecked(["nsenter", `--net=/run/netns/${ns("h2/c1")}`, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_ignore=8"]);
    runChecked(["ip", "-n", ns("h1/c1"), "neigh", "del", C2_ADDRESS, "dev", "eth0"]);
    try {
      const { status, report } = trace();
      expect(status).toBe(1);
      expectStoppedAt(report, { node: "h1/c1", kind: "neighbour", ifName: "eth0" }, "neighbour");
      expect(report.verdict.lastSeen).toBeUndefined();
      expect(report.verdict.reasons[0]).toMatch(
        /the neighbour entry for 10\.10\.2\.2 on eth0 is (INCOMPLETE|FAILED).*\(ip -n \S+-h1-c1 neigh show 10\.10\.2\.2 dev eth0\)/,
      );
    } finally {
      runChecked(["nsenter", `--net=/run/netns/${ns("h2/c1")}`, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_ignore=0"]);
      spawnSync("ip", ["-n", ns("h1/c1"), "neigh", "flush", "dev", "eth0"]);
    }
    // Answered again, the next packet resolves it and crosses (and later faults start from a resolved neighbour).
    expect(trace().status).toBe(0);
  });

  it("a container's host-side veth set down: the far host's bridge cannot hand it over", () => {
    const hostVeth = healthy.path.find(
      (step) => step.node === "h2" && step.kind === "egress" && step.ifName?.startsWith("veth"),
    )?.ifName;
    cnikitOk(["lab", "link", "down", "h2/c1"], { env });
    try {
      const { status, report } = trace();
      expect(status).toBe(1);
      expectStoppedAt(report, { node: "h2", kind: "egress", ifName: hostVeth as string }, "link-down");
      expect(report.verdict.lastSeen).toMatchObject({ node: "h2", kind: "decap" });
      expect(report.verdict.reasons).toContainEqual(
        expect.stringMatching(new RegExp(`lab impairment on h2/c1 \\(h2:${hostVeth}\\): link down`)),
      );
      expect(report.verdict.reasons).toContainEqual(expect.stringMatching(new RegExp(`${hostVeth} is down`)));
    } finally {
      cnikitOk(["lab", "link", "up", "h2/c1"], { env });
    }
  });

  it("the underlay MTU below a DF packet: too big for ul0 once in VXLAN, and the kernel says fragmentation needed", () => {
    cnikitOk(["lab", "netem", "set", "h1", "--mtu", "1400"], { env });
    // A path MTU learned by an earlier packet would stop it at the sender instead.
    runChecked(["ip", "-n", ns("h1/c1"), "route", "flush", "cache"]);
    try {
      const { status, report } = trace(["--size", "1400"]);
      expect(status).toBe(1);
      expectStoppedAt(report, { node: "h1", kind: "egress", ifName: "ul0" }, "mtu");
      expect(report.verdict.reasons[0]).toMatch(
        /the VXLAN packet \(1400 \+ 50 bytes of headers\) is larger than ul0's MTU 1400; the inner packet has DF/,
      );
      expect(report.live?.icmp).toContainEqual(expect.objectContaining({ type: 3, code: 4, mtu: 1350 }));
      expect(report.verdict.reasons).toContainEqual(
        expect.stringMatching(/^ICMP fragmentation needed \(mtu 1350\) from 10\.10\.2\.2, seen at .*h1\/c1:eth0/),
      );
      // A packet that fits crosses.
      expect(trace(["--size", "1350"]).status).toBe(0);
    } finally {
      cnikitOk(["lab", "netem", "reset", "h1"], { env });
      runChecked(["ip", "-n", ns("h1/c1"), "route", "flush", "cache"]);
    }
  });

  it("an nftables rule dropping it in one host: table, chain and handle", () => {
    const table = "cktrace_test";
    runChecked(
      ["nsenter", `--net=/run/netns/${ns("h2")}`, "nft", "-f", "-"],
      `table inet ${table} {\n chain input {\n  type filter hook input priority 0;\n  udp dport 4789 drop\n }\n}\n`,
    );
    try {
      const handle = Number(
        /udp dport 4789 drop # handle (\d+)/.exec(
          runChecked(["nsenter", `--net=/run/netns/${ns("h2")}`, "nft", "-a", "list", "table", "inet", table]),
        )?.[1],
      );
      const { status, report } = trace();
      expect(status).toBe(1);
      expectStoppedAt(report, { node: "h2", kind: "route" });
      expect(report.verdict.lastSeen).toMatchObject({ node: "h2", kind: "ingress", ifName: "ul0" });
      expect(report.live?.nftDrops).toEqual([
        expect.objectContaining({ netns: ns("h2"), family: "inet", table, chain: "input", handle }),
      ]);
      expect(report.verdict.reasons[0]).toBe(
        `nftables in h2 dropped it: table inet ${table}, chain input, handle ${handle}: udp dport 4789 drop (verdict drop)`,
      );
      if (tracerRan(report)) expect(report.live?.kernelDrops.map((drop) => drop.reason)).toContain("NETFILTER_DROP");
    } finally {
      runChecked(["nsenter", `--net=/run/netns/${ns("h2")}`, "nft", "delete", "table", "inet", table]);
    }
  });

  it("100% loss on one host's underlay link: the lab's impairment, and the rule that carries it", () => {
    cnikitOk(["lab", "netem", "set", "h1", "--loss", "100%"], { env });
    try {
      const { status, report } = trace();
      expect(status).toBe(1);
      expectStoppedAt(report, { node: "h1", kind: "egress", ifName: "ul0" });
      expect(report.verdict.lastSeen).toMatchObject({ node: "h1", kind: "egress", ifName: "vx42" });
      expect(report.verdict.reasons[0]).toMatch(
        /^lab impairment on h1 \(h1:ul0\): loss 100%, carried by nftables: table ip cnikit_impair, chain postrouting, handle \d+: oifname "ul0" drop/,
      );
    } finally {
      cnikitOk(["lab", "netem", "reset", "h1"], { env });
    }
  });

  it("with every fault undone the pair is delivered again, and the trace left nothing behind", () => {
    expect(trace().status).toBe(0);
    for (const node of ["h1", "h2", "h1/c1", "h2/c1", "underlay"]) {
      expect(runChecked(["nsenter", `--net=/run/netns/${ns(node)}`, "nft", "list", "tables"])).not.toMatch(
        /cnikit_trace/,
      );
    }
    // Tracing instances are global: look at them through a private tracefs mount.
    const instances = spawnSync(
      "unshare",
      [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        // Mounted already (by someone else, before us): what is there is what we look at.
        "{ mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; } && ls /sys/kernel/tracing/instances",
      ],
      { encoding: "utf8" },
    );
    expect(instances.status, instances.stderr).toBe(0);
    expect(instances.stdout).not.toMatch(/cnikit-trace-/);
  });
});

describe("cnikit trace on vxlan-overlay l3 (NETNS=ADDRESS)", () => {
  const VNI = 4343;
  const VTEP = `vx${VNI}`;
  let attached: Attached[] = [];
  const endpoint = (entry: Attached | undefined): string => `${entry?.container.name}=${entry?.address}`;
  const l3Trace = (): { status: number | null; report: TraceReport } => {
    const run = cnikit(["trace", endpoint(attached[0]), endpoint(attached[1]), "--json"], { env, timeoutMs: 30_000 });
    return { status: run.status, report: JSON.parse(run.stdout) as TraceReport };
  };

  beforeAll(async () => {
    const hosts = fixture.underlay({ hosts: 2 });
    const subnetOf = (index: number): string => `10.78.${index + 1}.0/24`;
    const peersFile = `${temp.dir}/peers.json`;
    fs.writeFileSync(
      peersFile,
      JSON.stringify(hosts.map((host, index) => ({ address: host.address, subnet: subnetOf(index) }))),
    );
    attached = await attachContainers({
      fixture,
      hosts,
      perHost: 1,
      idPrefix: "trl3",
      configFor: (index) =>
        l3Config({ vni: VNI, ipamSubnet: subnetOf(index), dataDir: `${temp.dir}/host${index}`, peersFile }),
    });
  });

  it("routes through the bridge, the standalone VTEP and the far host's bridge, delivered", () => {
    const { status, report } = l3Trace();
    expect(status).toBe(0);
    const host0 = attached[0]?.host.name as string;
    // Unlike l2: routed by each host (the bridge's own MAC, then a route to the peer's subnet on the VTEP), and the far VTEP hands the packet up, not to a bridge.
    expect(
      report.path.map(
        (step) =>
          `${step.kind}${step.ifName && ["egress", "ingress", "decap", "vtep", "bridge"].includes(step.kind) ? ` ${step.ifName.replace(/^veth\w+$/, "veth")}` : ""}`,
      ),
    ).toEqual([
      "route",
      "neighbour",
      "egress eth0",
      "ingress veth",
      `bridge vxbr${VNI}`,
      "route",
      "neighbour",
      `egress ${VTEP}`,
      `vtep ${VTEP}`,
      "route",
      "neighbour",
      "egress ul0",
      "ingress p0",
      "bridge br0",
      "egress p1",
      "ingress ul0",
      "route",
      `decap ${VTEP}`,
      "route",
      "neighbour",
      `egress vxbr${VNI}`,
      `bridge vxbr${VNI}`,
      "egress veth",
      "ingress eth0",
      "deliver",
    ]);
    expect(report.path).toContainEqual(
      expect.objectContaining({ netns: host0, kind: "vtep", ifName: VTEP, status: "ok" }),
    );
    expect(report.path).toContainEqual(expect.objectContaining({ kind: "decap", ifName: VTEP, status: "ok" }));
    expect(report.path.at(-1)).toMatchObject({ kind: "deliver", netns: attached[1]?.container.name });
    expect(
      report.path.filter((step) => ["egress", "ingress", "decap"].includes(step.kind)).map((step) => step.seenAtMs),
    ).not.toContain(undefined);
  });

  it("a removed neighbour entry of the VTEP: a break from the state alone (its ARP request has nowhere to go)", () => {
    const host0 = attached[0]?.host.name as string;
    const peerNetwork = "10.78.2.0";
    const entry = JSON.parse(runChecked(["ip", "-n", host0, "-j", "neigh", "show", peerNetwork, "dev", VTEP]))[0] as {
      lladdr: string;
    };
    runChecked(["ip", "-n", host0, "neigh", "del", peerNetwork, "dev", VTEP]);
    try {
      const { status, report } = l3Trace();
      expect(status).toBe(1);
      expect(report.verdict.stoppedAt).toMatchObject({ kind: "neighbour", ifName: VTEP });
      const step = report.path[(report.verdict.stoppedAt?.step ?? 0) - 1];
      expect(step).toMatchObject({ netns: host0, status: "break", fault: "neighbour" });
      expect(report.verdict.reasons[0]).toMatch(
        new RegExp(`no neighbour entry for ${peerNetwork} on ${VTEP}, and ${VTEP} has no flood entry`),
      );
      // Seen coming into the host from the container, and no further.
      expect(report.verdict.lastSeen).toMatchObject({ kind: "ingress" });
      expect(report.path.at(-1)).toMatchObject({ kind: "deliver", assumed: true });
    } finally {
      runChecked([
        "ip",
        "-n",
        host0,
        "neigh",
        "replace",
        peerNetwork,
        "dev",
        VTEP,
        "lladdr",
        entry.lladdr,
        "nud",
        "permanent",
      ]);
    }
  });

  it("a removed FDB entry of the VTEP: no remote for the peer VTEP's MAC", () => {
    const host0 = attached[0]?.host.name as string;
    const entry = (
      JSON.parse(runChecked(["bridge", "-n", host0, "-j", "fdb", "show", "dev", VTEP])) as {
        mac: string;
        dst?: string;
      }[]
    ).find((each) => each.dst === "198.18.0.2");
    runChecked(["bridge", "-n", host0, "fdb", "del", entry?.mac as string, "dev", VTEP, "dst", "198.18.0.2"]);
    try {
      const { status, report } = l3Trace();
      expect(status).toBe(1);
      expect(report.verdict.stoppedAt).toMatchObject({ kind: "vtep", ifName: VTEP });
      expect(report.verdict.lastSeen).toMatchObject({ kind: "egress", ifName: VTEP });
      expect(report.verdict.reasons[0]).toMatch(
        new RegExp(`${VTEP} has no FDB entry for ${entry?.mac} and no flood entry`),
      );
      if (tracerRan(report)) expect(report.live?.kernelDrops.map((drop) => drop.reason)).toContain("NO_TX_TARGET");
    } finally {
      runChecked(["bridge", "-n", host0, "fdb", "append", entry?.mac as string, "dev", VTEP, "dst", "198.18.0.2"]);
    }
    expect(l3Trace().status).toBe(0);
  });
});
