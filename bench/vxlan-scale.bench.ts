// The vxlan-overlay plugin's ADD (compiled, standalone) with a peersFile of 10,000
// hosts, l2 and l3, from an empty host (no VTEP: every entry is new) and with the VTEP
// already reconciled (what every later ADD pays; also at 1,000, 2,000 and 5,000 hosts);
// and 100,000 hosts, above the limit (MAX_OVERLAY_PEERS), refused with code 7 before the
// kernel is touched. One host namespace with a veth as underlay (198.18.0.0/15 holds
// 100,000 peer addresses), routed as a fabric would be: every peer behind one gateway
// whose MAC is known. (With the peers on-link and nobody answering ARP, each of the
// 10,000 copies of the new container's gratuitous ARP that an l2 VTEP sends fails to
// create a neighbour in a full table: 65 ms of every l2 ADD that no real underlay pays.)
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NetnsFixture, type Netns, links, runPrefix } from "../netns-fixtures";
import { ipIn } from "../netns-fixtures/ip";
import { MAX_OVERLAY_PEERS } from "../overlay/plugin/config";
import { nodeEnv, timeInProcess } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark, VariantResult } from "./lib/types";

const VNI = 7070;
const MAX_RUNS = 5;
/** Beyond every peer address (the 100,000th is 198.19.134.160). */
const UNDERLAY_GATEWAY = "198.19.255.254";
/** In place: where the time goes with the list's size (the last is the limit). */
const IN_PLACE_COUNTS = [1000, 2000, 5000, MAX_OVERLAY_PEERS];
/** Peer i (1: this host, 198.18.0.1) and its l3 /25 inside 10.0.0.0/8. */
const peerAddress = (index: number) => `198.${18 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
const peerSubnet = (index: number) => `10.${index >> 9}.${(index >> 1) & 255}.${(index & 1) * 128}/25`;

function writePeersFile(dir: string, mode: "l2" | "l3", count: number): string {
  const file = path.join(dir, `peers-${mode}-${count}.json`);
  const hosts = Array.from({ length: count }, (_, offset) => offset + 1);
  const peers = hosts.map((index) =>
    mode === "l3" ? { address: peerAddress(index), subnet: peerSubnet(index) } : peerAddress(index),
  );
  fs.writeFileSync(file, JSON.stringify(peers));
  return file;
}

interface Call {
  context: BenchContext;
  host: Netns;
  container: Netns;
  command: "ADD" | "DEL";
  config: Record<string, unknown>;
}

function runPlugin(call: Call): { status: number | null; stdout: string } {
  const run = spawnSync("nsenter", [`--net=${call.host.path}`, path.join(call.context.distBin, "vxlan-overlay")], {
    env: nodeEnv({
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: `scale-${call.container.name}`,
      CNI_NETNS: call.container.path,
      CNI_IFNAME: "eth0",
      CNI_PATH: call.context.distBin,
    }),
    input: JSON.stringify(call.config),
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: run.status, stdout: run.stdout };
}

function configFor(dir: string, mode: "l2" | "l3", peersFile: string): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: `scale-${mode}`,
    type: "vxlan-overlay",
    vni: VNI,
    mode,
    peersFile,
    localAddress: "198.18.0.1",
    // l3: our own /25 (we are peer 1, 198.18.0.1); l2: one subnet across hosts.
    ...(mode === "l3" && { subnet: peerSubnet(1) }),
    ipam: {
      type: "host-local",
      dataDir: path.join(dir, `ipam-${mode}`),
      ranges: [[{ subnet: mode === "l3" ? peerSubnet(1) : "10.250.0.0/16" }]],
    },
  };
}

function modeRows(context: BenchContext, fixture: NetnsFixture, host: Netns, dir: string, mode: "l2" | "l3") {
  const plan = { runs: Math.min(context.runs, MAX_RUNS), warmup: 0 };
  const config = configFor(dir, mode, writePeersFile(dir, mode, MAX_OVERLAY_PEERS));
  const over = configFor(dir, mode, writePeersFile(dir, mode, 100_000));
  let container = fixture.containerNetns();
  const add = (expectCode?: number) => {
    const run = runPlugin({ context, host, container, command: "ADD", config: expectCode ? over : config });
    const code = (JSON.parse(run.stdout || "{}") as { code?: number }).code;
    if (expectCode ? code !== expectCode : run.status !== 0) throw new Error(`${mode} ADD: ${run.stdout}`);
  };
  const del = () => void runPlugin({ context, host, container, command: "DEL", config });
  const removeOverlay = () => {
    for (const link of links(host).filter((each) => [`vx${VNI}`, `vxbr${VNI}`].includes(each.ifname)))
      ipIn(host, ["link", "del", link.ifname]);
  };
  const label = (what: string) => `${mode}: ADD with ${what}`;
  const inPlace = (count: number) => {
    const sized = configFor(dir, mode, writePeersFile(dir, mode, count));
    return timeInProcess({
      label: label(`${count} peers already in place`),
      // The warm-up run reconciles the VTEP to this list (the previous row left another).
      plan: { ...plan, warmup: 1 },
      before: () => {
        container = fixture.containerNetns();
      },
      step: () => {
        const run = runPlugin({ context, host, container, command: "ADD", config: sized });
        if (run.status !== 0) throw new Error(`${mode} ADD of ${count} peers: ${run.stdout}`);
      },
      after: () => void runPlugin({ context, host, container, command: "DEL", config: sized }),
    });
  };
  return [
    timeInProcess({
      label: label(`${MAX_OVERLAY_PEERS} peers from empty (VTEP created, every entry new)`),
      plan,
      before: () => {
        removeOverlay();
        container = fixture.containerNetns();
      },
      step: () => add(),
      after: del,
    }),
    ...IN_PLACE_COUNTS.map(inPlace),
    timeInProcess({
      label: label("100000 peers: refused with code 7, kernel untouched"),
      plan,
      step: () => add(7),
    }),
  ];
}

function run(context: BenchContext): BenchSection {
  const fixture = new NetnsFixture();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-bench-scale-"));
  try {
    const host = fixture.hostNetns();
    ipIn(host, ["link", "add", "ul0", "type", "veth", "peer", "name", "ul0peer"]);
    ipIn(host, ["link", "set", "ul0peer", "up"]);
    ipIn(host, ["link", "set", "ul0", "up"]);
    // Routed: the peers behind a gateway of known MAC (no host answers on ul0peer, and a
    // frame to that MAC is dropped there unread).
    ipIn(host, ["addr", "add", "198.18.0.1/32", "dev", "ul0"]);
    ipIn(host, ["route", "add", "198.18.0.0/15", "via", UNDERLAY_GATEWAY, "dev", "ul0", "onlink"]);
    ipIn(host, ["neigh", "add", UNDERLAY_GATEWAY, "lladdr", "02:00:00:00:fe:fe", "dev", "ul0", "nud", "permanent"]);
    const variants: VariantResult[] = [
      ...modeRows(context, fixture, host, dir, "l2"),
      ...modeRows(context, fixture, host, dir, "l3"),
    ];
    return {
      title: `vxlan-overlay ADD with ${MAX_OVERLAY_PEERS} and 100000 peers`,
      description:
        `The compiled plugin, standalone, run in a throwaway host namespace (${runPrefix()}…) with a peersFile of ${MAX_OVERLAY_PEERS} hosts ` +
        "(l2: flood list; l3: FDB + neighbour + route per peer), from no VTEP and with the VTEP reconciled " +
        `(in place also with ${IN_PLACE_COUNTS.slice(0, -1).join(", ")}: the first run, untimed, reconciles to the list), ` +
        "over an underlay that routes every peer through one gateway, and with 100000 hosts, " +
        `above the limit (MAX_OVERLAY_PEERS in overlay/plugin/config.ts): refused with code 7 before the kernel is touched. ` +
        "Each row's ADD attaches a new container (DEL afterwards, untimed).",
      variants,
    };
  } finally {
    fixture.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "vxlan-scale", run };
