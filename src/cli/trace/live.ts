// The live half of a trace: one packet sent along the path while every namespace of it
// is watched (tcpdump), the kernel's frees recorded (tracefs, in a private mount
// namespace) and nftables verdicts traced where there are rules; then everything is
// stopped and removed, whatever happened. Every process here has a time limit and is
// ended by its own pid.
import * as crypto from "node:crypto";
import { selfCommand } from "../self";
import { type TraceChild, startChild } from "./child";
import { findOurDrops, startKernelTracer } from "./kernel-drops";
import type { ProbeSignature } from "./match";
import type { NetlinkKernelView } from "./netlink-view";
import { type NftMatch, startNftTrace } from "./nftrace";
import type { LiveResult, TraceEndpoint, TracePacket, TracePath } from "./types";
import { startWatch } from "./watch";

export interface LiveOptions {
  from: TraceEndpoint;
  to: TraceEndpoint;
  packet: TracePacket;
  path: TracePath;
  view: NetlinkKernelView;
  /** Namespace -> its path, for every namespace of the path. */
  netnsPaths: Map<string, string>;
  vxlanPorts: number[];
  /** How long to wait for the packet after it is sent. */
  waitMs: number;
}

const READY_WAIT_MS = 5000;
/** After delivery: the watchers' last records are still on their way to us. */
const LINGER_MS = 150;
const IP_HEADER = { 4: 20, 6: 40 } as const;
const ETHERNET_HEADER = 14;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function agent(netnsPath: string, args: string[], limitMs: number): TraceChild {
  const self = selfCommand();
  return startChild(
    `trace-agent ${args[0]}`,
    [...self, "netns", "exec", netnsPath, "--", ...self, "trace-agent", ...args],
    limitMs,
  );
}

/** The last JSON event of a kind an agent printed. */
function event(child: TraceChild, name: string): Record<string, unknown> | undefined {
  for (const line of [...child.lines()].reverse()) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.event === name) return parsed;
    } catch {
      // Not one of the agent's lines.
    }
  }
  return undefined;
}

/** A DF packet larger than the source's own route or link MTU never leaves: the kernel refuses it (EMSGSIZE). */
function refusedAtSource(path: TracePath, from: TraceEndpoint): string | undefined {
  const step = path.steps.find(
    (each) => each.netns === from.netns && !each.outer && each.status === "break" && each.fault === "mtu",
  );
  return step ? `not sent: with DF the kernel refuses it at ${from.label} (EMSGSIZE): ${step.reason}` : undefined;
}

function pathNamespaces(path: TracePath): string[] {
  return [...new Set(path.steps.map((step) => step.netns))];
}

export async function sendLive(options: LiveOptions): Promise<LiveResult> {
  const { from, to, packet, path, view } = options;
  const result: LiveResult = { delivered: false, sightings: [], icmp: [], kernelDrops: [], nftDrops: [], notes: [] };
  const refused = refusedAtSource(path, from);
  if (refused) return { ...result, notSent: refused };
  const token = crypto.randomBytes(8);
  const sourcePort = 40_000 + crypto.randomInt(20_000);
  const limitMs = options.waitMs + 20_000;
  const signature: ProbeSignature = {
    proto: packet.proto,
    family: packet.family,
    src: from.address,
    dst: to.address,
    ...(packet.proto !== "icmp" && { sourcePort }),
    port: packet.port,
    size: packet.size,
    vxlanPorts: options.vxlanPorts,
  };
  const namespaces = pathNamespaces(path);
  const children: TraceChild[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let listener: TraceChild | undefined;
    if (packet.proto !== "icmp") {
      listener = agent(
        to.netnsPath,
        [
          "listen",
          "--proto",
          packet.proto,
          "--family",
          String(packet.family),
          "--port",
          String(packet.port),
          "--token",
          token.toString("hex"),
          "--timeout-ms",
          String(limitMs),
        ],
        limitMs + 5000,
      );
      children.push(listener);
      const ready = await listener.waitForLine(/"event":"(ready|error)"/, READY_WAIT_MS);
      if (!ready?.includes('"ready"'))
        return {
          ...result,
          notSent: `no listener at ${to.label}: ${event(listener, "error")?.message ?? (listener.stderrText().trim() || "it did not start")}`,
        };
    }
    const watch = await startWatch(
      namespaces.map((netns) => ({
        netns,
        netnsPath: options.netnsPaths.get(netns) ?? netns,
        ifNames: new Map(view.state(netns).links.map((link) => [link.index, link.name])),
      })),
      signature,
      limitMs,
    );
    cleanups.push(async () => {
      await watch.stop();
      result.sightings = watch.sightings;
      result.icmp = watch.icmp;
    });
    result.notes.push(...watch.failed.map((failure) => `not watched: ${failure}`));
    const lengths = [
      packet.size,
      packet.size + ETHERNET_HEADER,
      ...path.tunnels.flatMap((leg) => [leg.size, leg.size + ETHERNET_HEADER]),
    ];
    const tracer = await startKernelTracer({ lengths, protocol: packet.family === 6 ? 0x86dd : 0x0800, limitMs });
    if (typeof tracer === "string") result.notes.push(tracer);
    else cleanups.push(async () => void (await tracer.finish()));
    const matches: NftMatch[] = [
      { family: packet.family, src: from.address, dst: to.address, length: packet.size },
      ...path.tunnels.map((leg) => ({
        family: (leg.remote.includes(":") ? 6 : 4) as 4 | 6,
        src: leg.local,
        dst: leg.remote,
        length: leg.size,
      })),
    ];
    const nft = await startNftTrace(
      namespaces.map((netns) => ({ netns, netnsPath: options.netnsPaths.get(netns) ?? netns })),
      matches,
      limitMs,
    );
    cleanups.push(async () => {
      result.nftDrops = await nft.finish();
    });
    result.notes.push(...nft.notes);

    const sender =
      packet.proto === "icmp"
        ? ping(from, to, packet, token, options.waitMs)
        : agent(
            from.netnsPath,
            [
              "send",
              "--proto",
              packet.proto,
              "--family",
              String(packet.family),
              "--to",
              to.address,
              "--port",
              String(packet.port),
              "--source-port",
              String(sourcePort),
              "--payload",
              String(packet.size - IP_HEADER[packet.family] - 8),
              "--token",
              token.toString("hex"),
              "--timeout-ms",
              String(options.waitMs + 1000),
            ],
            limitMs,
          );
    children.push(sender);
    result.sentAt = Date.now() / 1000;
    const delivered =
      packet.proto === "icmp"
        ? sender.ended.then((status) => status === 0)
        : (listener?.waitForLine(/"event":"received"/, options.waitMs).then((line) => line !== undefined) ??
          Promise.resolve(false));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.waitMs);
    });
    result.delivered = await Promise.race([delivered, deadline]);
    clearTimeout(timer);
    const failure = packet.proto === "icmp" ? pingFailure(sender) : event(sender, "error");
    if (failure && !result.delivered)
      result.sendError = typeof failure === "string" ? failure : `${String(failure.code)}: ${String(failure.message)}`;
    await sleep(LINGER_MS);
    const senderPid = packet.proto === "icmp" ? sender.child.pid : Number(event(sender, "sending")?.pid);

    if (typeof tracer !== "string") {
      const events = await tracer.finish();
      const devices = new Set(path.steps.flatMap((step) => (step.ifName ? [step.ifName] : [])));
      const sourceDevice = path.steps.find((step) => step.kind === "egress")?.ifName ?? "";
      if (!result.delivered && senderPid) {
        result.kernelDrops = findOurDrops(events, { senderPid, sourceDevice, devices, lengths: new Set(lengths) }).map(
          (drop) => {
            const holders = drop.lastDevice ? view.namespacesWithLink(drop.lastDevice) : [];
            return holders.length === 1 && holders[0] ? { ...drop, node: view.labelOf(holders[0]) } : drop;
          },
        );
      }
    }
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err: Error) => result.notes.push(`cleanup: ${err.message}`));
    for (const child of children) {
      child.closeInput();
      await child.stop("SIGTERM", 1000);
    }
  }
  return result;
}

/** ICMP goes out by ping (iputils): DF (-M do), our size, the token as its payload pattern. */
function ping(from: TraceEndpoint, to: TraceEndpoint, packet: TracePacket, token: Buffer, waitMs: number): TraceChild {
  const payload = packet.size - IP_HEADER[packet.family] - 8;
  const seconds = String(Math.max(1, Math.ceil(waitMs / 1000)));
  const argv = [
    "nsenter",
    `--net=${from.netnsPath}`,
    "ping",
    ...(packet.family === 6 ? ["-6"] : []),
    "-n",
    "-c",
    "1",
    "-W",
    seconds,
    "-M",
    "do",
    "-s",
    String(payload),
    "-p",
    token.toString("hex"),
    to.address,
  ];
  return startChild("ping", argv, waitMs + 5000);
}

/** What ping said went wrong when sending (not a lost answer, which it reports as "0 received"). */
function pingFailure(child: TraceChild): string | undefined {
  if (child.child.exitCode === 0) return undefined;
  const line = child
    .stderrText()
    .trim()
    .split("\n")
    .find((each) => each.startsWith("ping:") || each.includes("No such file"));
  return line?.replace(/^ping: /, "ping: ");
}
