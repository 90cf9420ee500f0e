// Programming 1,000 peers on a VTEP: our reconciliation (in process, one netlink socket)
// against 1,000 `bridge fdb append` processes, the way a shell script or a daemon that
// execs iproute2 does it; `bridge -batch` (one process, the same 1,000 lines) shows the
// kernel's own cost. l2 is one flood entry per peer; l3 is three entries per peer.
// Everything happens in one throwaway namespace with a veth as underlay.
import { NetnsFixture, fdb, ipJson, links, runPrefix, vxlanAddArgs } from "../netns-fixtures";
import { ipIn, runChecked } from "../netns-fixtures/ip";
import { Handle } from "../src/netlink/handle";
import { reconcileFloodEntries } from "../overlay/kernel/flood";
import { type L3Peer, isEmptyDiff } from "../overlay/kernel/peer-entries";
import { reconcilePeerEntries } from "../overlay/kernel/reconcile";
import { timeInProcess } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark, VariantResult } from "./lib/types";

const PEER_COUNT = 1000;
const VNI = 4242;
const VTEP = `vx${VNI}`;
const MAX_RUNS = 10;

/** Peer i: 198.18.(1 + i/250).(1 + i%250), subnet 10.(100 + i/250).(i%250).0/24. */
function peers(): L3Peer[] {
  return Array.from({ length: PEER_COUNT }, (_, index) => ({
    underlayAddress: `198.18.${1 + Math.floor(index / 250)}.${1 + (index % 250)}`,
    subnet: `10.${100 + Math.floor(index / 250)}.${index % 250}.0/24`,
  }));
}

function run(context: BenchContext): BenchSection {
  const fixture = new NetnsFixture();
  const plan = { runs: Math.min(context.runs, MAX_RUNS), warmup: Math.min(context.warmup, 1) };
  const peerList = peers();
  const addresses = peerList.map((peer) => peer.underlayAddress);
  try {
    const host = fixture.hostNetns();
    const ip = (args: string[]) => ipIn(host, args);
    // The kernel here has no dummy driver: a veth pair inside the namespace is the underlay.
    ip(["link", "add", "ul0", "type", "veth", "peer", "name", "ul0peer"]);
    ip(["addr", "add", "198.18.0.1/15", "dev", "ul0"]);
    ip(["link", "set", "ul0peer", "up"]);
    ip(["link", "set", "ul0", "up"]);
    // A fresh VTEP before every timed run, so each starts from no entries (untimed).
    const freshVtep = (learning: boolean) => {
      if (links(host).some((link) => link.ifname === VTEP)) ip(["link", "del", VTEP]);
      ip(vxlanAddArgs({ name: VTEP, vni: VNI, local: "198.18.0.1", dev: "ul0", dstport: 4789, learning }));
      ip(["link", "set", VTEP, "up"]);
    };
    const floodCount = () =>
      fdb(host, VTEP).filter((entry) => entry.mac === "00:00:00:00:00:00" && entry.dst !== undefined).length;
    const routeCount = () => ipJson<unknown[]>(host, ["route", "show", "dev", VTEP]).length;
    const expectCount = (what: string, count: number) => {
      if (count !== PEER_COUNT) throw new Error(`${what}: ${count} entries, not ${PEER_COUNT}`);
    };
    const handle = Handle.at(host.path);
    const variants: VariantResult[] = [];
    try {
      const appendLines = addresses.map((address) => `fdb append 00:00:00:00:00:00 dev ${VTEP} dst ${address}`);
      variants.push(
        timeInProcess({
          label: `${PEER_COUNT} \`bridge fdb append\` processes (l2 flood entries)`,
          plan,
          baseline: true,
          before: () => freshVtep(true),
          step: () => {
            for (const address of addresses)
              ipIn(host, ["fdb", "append", "00:00:00:00:00:00", "dev", VTEP, "dst", address], "bridge");
          },
          after: () => expectCount("bridge fdb append", floodCount()),
        }),
        timeInProcess({
          label: `\`bridge -batch\` with the same ${PEER_COUNT} lines (one process)`,
          plan,
          before: () => freshVtep(true),
          step: () => void runChecked(["bridge", "-n", host.name, "-batch", "-"], `${appendLines.join("\n")}\n`),
          after: () => expectCount("bridge -batch", floodCount()),
        }),
        timeInProcess({
          label: `ours, l2: flood list of ${PEER_COUNT} peers from empty`,
          plan,
          before: () => freshVtep(true),
          step: () => void reconcileFloodEntries(handle, VTEP, addresses),
          after: () => expectCount("ours l2", floodCount()),
        }),
        timeInProcess({
          label: `ours, l2: ${PEER_COUNT} peers already in place (what every later ADD pays)`,
          plan,
          step: () => {
            const changes = reconcileFloodEntries(handle, VTEP, addresses);
            if (changes.added.length + changes.removed.length !== 0)
              throw new Error("l2 reconcile changed a reconciled VTEP");
          },
        }),
        timeInProcess({
          label: `ours, l3: ${PEER_COUNT * 3} entries (FDB + neighbour + route per peer) from empty`,
          plan,
          before: () => freshVtep(false),
          step: () => void reconcilePeerEntries(handle, { vtepName: VTEP, vni: VNI }, peerList),
          after: () => expectCount("ours l3 routes", routeCount()),
        }),
        timeInProcess({
          label: `ours, l3: ${PEER_COUNT} peers already in place`,
          plan,
          step: () => {
            if (!isEmptyDiff(reconcilePeerEntries(handle, { vtepName: VTEP, vni: VNI }, peerList)))
              throw new Error("l3 reconcile changed a reconciled VTEP");
          },
        }),
      );
    } finally {
      handle.close();
    }
    return {
      title: `Reconciling ${PEER_COUNT} VXLAN peers: ours vs \`bridge fdb append\``,
      description:
        `A VTEP (VNI ${VNI}, a veth as underlay) in a throwaway namespace (${runPrefix()}…) gets one entry per peer for ${PEER_COUNT} peers, ` +
        "starting from a freshly created VTEP (untimed); the entry count is checked with `bridge -j fdb` / `ip -j route` after every run. " +
        "Ours runs in the harness process (Bun) through one netlink socket opened once, as the plugin does within one call; " +
        `the baseline execs iproute2 once per peer. ${plan.runs} timed runs per row (capped: the baseline alone takes seconds per run).`,
      variants,
    };
  } finally {
    fixture.cleanup();
  }
}

export const benchmark: Benchmark = { id: "vxlan-reconcile", run };
