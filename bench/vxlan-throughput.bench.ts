// TCP throughput container to container across two hosts: through our overlay (l2 and
// l3, set up by the compiled plugin) against the same l2 topology built by hand with
// iproute2 (bridge, vxlan, `bridge fdb append`, veth): the kernel's own path, the limit.
// iperf3 moves a fixed number of bytes; every variant has its own two-host underlay.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NetnsFixture, type Netns, type UnderlayHost } from "../netns-fixtures";
import { runChecked } from "../netns-fixtures/ip";
import { median } from "./lib/stats";
import { pluginAdd } from "./lib/vxlan-plugin";
import type { BenchContext, BenchSection, Benchmark, VariantResult } from "./lib/types";

const BYTES = 1024 * 1024 * 1024;
const MAX_RUNS = 10;
const IPERF_PORT = "5201";

interface Path {
  label: string;
  baseline?: boolean;
  client: Netns;
  server: Netns;
  serverAddress: string;
}

function inNetns(netns: Netns, argv: string[], input?: string): string {
  return runChecked(["nsenter", `--net=${netns.path}`, ...argv], input);
}

function oursPath(context: BenchContext, fixture: NetnsFixture, mode: "l2" | "l3", dataDir: string): Path {
  const hosts = fixture.underlay({ hosts: 2 });
  const peers = hosts.map((host, index) =>
    mode === "l2" ? host.address : { address: host.address, subnet: `10.91.${index + 1}.0/24` },
  );
  const containers = hosts.map(() => fixture.containerNetns());
  const addresses = hosts.map((host, index) => {
    const subnet = mode === "l2" ? "10.90.0.0/16" : `10.91.${index + 1}.0/24`;
    const range =
      mode === "l2" ? { subnet, rangeStart: `10.90.${index + 1}.10`, rangeEnd: `10.90.${index + 1}.250` } : { subnet };
    const config = {
      cniVersion: "1.0.0",
      name: `bench${mode}`,
      type: "vxlan-overlay",
      vni: 100,
      mode,
      peers,
      ipam: { type: "host-local", dataDir: path.join(dataDir, `${mode}${index}`), ranges: [[range]] },
    };
    return pluginAdd(context, host, containers[index] as Netns, config);
  });
  return {
    label: `ours, ${mode} (compiled vxlan-overlay)`,
    client: containers[0] as Netns,
    server: containers[1] as Netns,
    serverAddress: addresses[1] ?? "",
  };
}

/** The l2 layout by hand: what `ip`/`bridge` commands in a shell script would build. */
function handBuiltPath(fixture: NetnsFixture): Path {
  const hosts = fixture.underlay({ hosts: 2 });
  const containers = hosts.map(() => fixture.containerNetns());
  hosts.forEach((host, index) => {
    const container = containers[index] as Netns;
    const other = hosts[1 - index] as UnderlayHost;
    const ip = (args: string[]) => runChecked(["ip", "-n", host.name, ...args]);
    ip(["link", "add", "br0", "mtu", "1450", "type", "bridge"]);
    ip([
      "link",
      "add",
      "vx0",
      "mtu",
      "1450",
      "type",
      "vxlan",
      "id",
      "100",
      "local",
      host.address,
      "dev",
      "ul0",
      "dstport",
      "4789",
    ]);
    ip(["link", "set", "vx0", "master", "br0", "up"]);
    ip(["link", "set", "br0", "up"]);
    runChecked(["bridge", "-n", host.name, "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", other.address]);
    ip(["link", "add", "veth0", "mtu", "1450", "type", "veth", "peer", "name", "eth0", "netns", container.name]);
    ip(["link", "set", "veth0", "master", "br0", "up"]);
    runChecked(["ip", "-n", container.name, "addr", "add", `10.92.0.${index + 1}/24`, "dev", "eth0"]);
    runChecked(["ip", "-n", container.name, "link", "set", "eth0", "up"]);
  });
  return {
    label: "by hand: ip link add vxlan + bridge fdb append (l2)",
    baseline: true,
    client: containers[0] as Netns,
    server: containers[1] as Netns,
    serverAddress: "10.92.0.2",
  };
}

/**
 * Milliseconds `bytes` take at the receiver's rate, from iperf3's JSON report (the
 * receiver's count stops a little short of what was sent when the report is cut).
 */
function transferMs(pathUnderTest: Path, bytes: number): number {
  const report = JSON.parse(
    inNetns(pathUnderTest.client, [
      "iperf3",
      "-c",
      pathUnderTest.serverAddress,
      "-p",
      IPERF_PORT,
      "-n",
      String(bytes),
      "-J",
    ]),
  ) as {
    end?: { sum_received?: { seconds?: number; bytes?: number } };
  };
  const received = report.end?.sum_received;
  const receivedBytes = received?.bytes ?? 0;
  if (!received?.seconds || receivedBytes < bytes * 0.9)
    throw new Error(`${pathUnderTest.label}: iperf3 received ${receivedBytes} of ${bytes} bytes`);
  return (bytes / receivedBytes) * received.seconds * 1000;
}

/** Waits for the server by trying small transfers (iperf3 -s has no readiness signal). */
function waitForServer(pathUnderTest: Path): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      transferMs(pathUnderTest, 64 * 1024);
      return;
    } catch {
      spawnSync("sleep", ["0.1"]);
    }
  }
  throw new Error(`${pathUnderTest.label}: iperf3 server at ${pathUnderTest.serverAddress} never answered`);
}

function run(context: BenchContext): BenchSection {
  const fixture = new NetnsFixture();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-bench-vxlan-"));
  const servers: ChildProcess[] = [];
  try {
    const paths = [
      handBuiltPath(fixture),
      oursPath(context, fixture, "l2", dataDir),
      oursPath(context, fixture, "l3", dataDir),
    ];
    for (const pathUnderTest of paths) {
      servers.push(
        spawn("nsenter", [`--net=${pathUnderTest.server.path}`, "iperf3", "-s", "-p", IPERF_PORT], { stdio: "ignore" }),
      );
      waitForServer(pathUnderTest);
    }
    const runs = Math.min(context.runs, MAX_RUNS);
    const samples = paths.map(() => [] as number[]);
    for (let round = 0; round < runs + 1; round++) {
      paths.forEach((pathUnderTest, index) => {
        const ms = transferMs(pathUnderTest, BYTES);
        if (round > 0) samples[index]?.push(ms);
      });
    }
    const variants: VariantResult[] = paths.map((pathUnderTest, index) => ({
      label: pathUnderTest.label,
      samplesMs: samples[index] ?? [],
      baseline: pathUnderTest.baseline,
    }));
    const gbps = variants.map(
      (variant) => `${variant.label}: ${((BYTES * 8) / (median(variant.samplesMs) / 1000) / 1e9).toFixed(2)} Gbit/s`,
    );
    return {
      title: "TCP throughput across two hosts: our overlay vs the same topology by hand",
      description:
        `iperf3 sends ${BYTES / 1024 / 1024} MiB from a container on one host to a container on the other (the receiver's time is the sample; lower is faster), ` +
        "through a VXLAN overlay over a veth underlay between two host namespaces. Baseline: bridge + vxlan (VNI 100, port 4789, learning) + " +
        "`bridge fdb append` + veth, MTU 1450, built with iproute2. Ours: the compiled plugin's ADD in l2 (same layout) and l3 (routed, " +
        `standalone VTEP). Variants interleaved, one warm-up round, ${runs} timed rounds (capped).`,
      variants,
      notes: [`Median throughput: ${gbps.join("; ")}.`],
    };
  } finally {
    for (const server of servers) if (server.pid !== undefined && server.exitCode === null) server.kill("SIGKILL");
    fixture.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "vxlan-throughput", run };
