// `cnikit trace FROM TO`: the path the kernel would take (path.ts, from its state read
// through our rtnetlink codec), then one live packet along it (live.ts), then the
// verdict (verdict.ts). Exit status 0 only when the packet was delivered.
import { CliError } from "../errors";
import { labVxlanPort } from "../lab/topology";
import { writeJson, writeStdout } from "../output";
import { resolveScope } from "./endpoints";
import { labImpairments } from "./impairments";
import { sendLive } from "./live";
import { NetlinkKernelView } from "./netlink-view";
import { tracePath } from "./path";
import { type TraceReport, renderJson, renderText } from "./render";
import type { LiveResult, TracePacket, TracePath, TraceProto } from "./types";
import { type TraceVerdict, annotate, decide } from "./verdict";

export interface TraceCliOptions {
  proto?: string;
  port?: string;
  size?: string;
  lab?: string;
  json?: boolean;
  wait?: string;
  /** commander's --no-send. */
  send?: boolean;
}

const PROTOS: TraceProto[] = ["udp", "tcp", "icmp"];
const DEFAULT_PORT = 33434;
const DEFAULT_SIZE = 100;
/** A TCP SYN with Linux's usual options (MSS, SACK, timestamps, window scale). */
const TCP_SYN_SIZE = { 4: 60, 6: 80 } as const;
const COMMON_VXLAN_PORTS = [4789, 8472];

function integer(raw: string | undefined, name: string, fallback: number, [min, max]: [number, number]): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new CliError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function packetOf(options: TraceCliOptions, family: 4 | 6): TracePacket {
  const proto = (options.proto ?? "udp") as TraceProto;
  if (!PROTOS.includes(proto))
    throw new CliError(`--proto must be one of ${PROTOS.join(", ")}, got ${JSON.stringify(options.proto)}`);
  if (proto === "tcp" && options.size !== undefined)
    throw new CliError("--size is for udp and icmp: the TCP packet traced is the SYN, whose size its options decide");
  // Room for the headers and our 12-byte token.
  const minimum = (family === 6 ? 48 : 28) + 12;
  const size =
    proto === "tcp" ? TCP_SYN_SIZE[family] : integer(options.size, "--size", DEFAULT_SIZE, [minimum, 65_535]);
  return {
    proto,
    family,
    port: proto === "icmp" ? 0 : integer(options.port, "--port", DEFAULT_PORT, [1, 65_535]),
    size,
  };
}

/** --no-send: only the kernel's state; "delivered" then means the path has no break. */
function staticVerdict(report: Pick<TraceReport, "path">): TraceVerdict {
  const breaks = report.path.filter((step) => step.status === "break");
  const first = breaks[0];
  return {
    delivered: false,
    ...(first && {
      stoppedAt: {
        step: first.index,
        node: first.node,
        kind: first.kind,
        ...(first.ifName !== undefined && { ifName: first.ifName }),
      },
    }),
    reasons: breaks.map(
      (step) =>
        `${step.node} ${step.kind}${step.ifName ? ` ${step.ifName}` : ""}: ${step.reason ?? step.detail} (${step.command})`,
    ),
  };
}

const hasBreak = (path: TracePath): boolean => path.steps.some((step) => step.status === "break");

export async function traceCommand(fromSpec: string, toSpec: string, options: TraceCliOptions): Promise<void> {
  const scope = resolveScope(fromSpec, toSpec, options.lab);
  const { from, to } = scope;
  const packet = packetOf(options, to.address.includes(":") ? 6 : 4);
  const waitMs = integer(options.wait, "--wait", 1000, [100, 30_000]);
  const view = new NetlinkKernelView(scope.namespaces);
  try {
    let path = tracePath(view, from, to, packet);
    const impairments = scope.lab ? labImpairments(scope.lab.plan) : [];
    let live: LiveResult | undefined;
    let reread = false;
    if (options.send !== false) {
      const vxlanPorts = [
        ...new Set([
          ...(scope.lab ? [labVxlanPort(scope.lab.topology)] : COMMON_VXLAN_PORTS),
          ...path.tunnels.map((leg) => leg.port),
        ]),
      ];
      const netnsPaths = new Map(scope.namespaces.map((each) => [each.netns, each.netnsPath]));
      live = await sendLive({ from, to, packet, path, view, netnsPaths, vxlanPorts, waitMs });
      // Lost where the state showed no break: what the packet met may show now (a neighbour left INCOMPLETE).
      if (!live.delivered && !live.notSent && !hasBreak(path)) {
        view.refresh();
        const again = tracePath(view, from, to, packet);
        if (hasBreak(again)) {
          path = again;
          reread = true;
        }
      }
    }
    const steps = annotate(path, live, impairments);
    const base = { from, to, packet, path: steps, reread, impairments, ...(live && { live }) };
    const verdict = live ? decide(steps, live, packet.family) : staticVerdict(base);
    const report: TraceReport = { ...base, verdict };
    if (options.json) writeJson(renderJson(report));
    else writeStdout(renderText(report));
    process.exitCode = verdict.delivered || (!live && !hasBreak(path)) ? 0 : 1;
  } finally {
    view.close();
  }
}
