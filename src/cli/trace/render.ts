// `cnikit trace` output: a table of the path, one row per step (what the kernel holds,
// whether the live packet was seen there and when), the breaks with the command that
// shows each, then the verdict. --json prints the same as one object.
import { formatTable } from "../output";
import type { StepView, TraceVerdict } from "./verdict";
import type { LiveResult, PathImpairment, TraceEndpoint, TracePacket } from "./types";

export interface TraceReport {
  from: TraceEndpoint;
  to: TraceEndpoint;
  packet: TracePacket;
  path: StepView[];
  /** The state was read again after the packet (the first reading showed no break). */
  reread: boolean;
  live?: LiveResult;
  impairments: PathImpairment[];
  verdict: TraceVerdict;
}

function describePacket(packet: TracePacket): string {
  const port = packet.proto === "icmp" ? "echo request" : `port ${packet.port}`;
  return `${packet.proto} ${port}, ${packet.size} bytes, DF`;
}

function hop(ref: TraceVerdict["lastSeen"]): string {
  if (!ref) return "";
  return `${ref.node} ${ref.kind}${ref.ifName ? ` ${ref.ifName}` : ""} (step ${ref.step}${ref.atMs !== undefined ? `, +${ref.atMs.toFixed(3)} ms` : ""})`;
}

function stateCell(step: StepView): string {
  const impaired = step.impairments?.length
    ? ` [impaired: ${step.impairments.map((each) => each.what).join(", ")}]`
    : "";
  return `${step.detail}${impaired}`;
}

function statusCell(step: StepView): string {
  if (step.status === "break") return "BREAK";
  if (step.assumed) return "(assumed)";
  return step.status === "note" ? "note" : "ok";
}

export function renderText(report: TraceReport): string {
  const { from, to, packet, path, verdict, live } = report;
  const lines = [`trace ${from.label} ${from.address} -> ${to.label} ${to.address}: ${describePacket(packet)}`, ""];
  const rows = path.map((step) => [
    String(step.index),
    step.node,
    step.kind,
    statusCell(step),
    step.seenAtMs !== undefined ? `+${step.seenAtMs.toFixed(3)} ms` : "",
    stateCell(step),
  ]);
  lines.push(formatTable(["#", "NODE", "STEP", "STATUS", "SEEN", "STATE"], rows));
  const flagged = path.filter((step) => step.status !== "ok" && step.reason);
  if (flagged.length > 0) {
    lines.push("");
    for (const step of flagged)
      lines.push(
        `${step.index}. ${step.status === "break" ? "BREAK" : "note"} ${step.node} ${step.kind}: ${step.reason}\n   see: ${step.command}`,
      );
  }
  if (report.reread) lines.push("", "(the kernel's state was read again after the packet; the table shows it then)");
  for (const note of live?.notes ?? []) lines.push(`note: ${note}`);
  lines.push("");
  if (!live) {
    const breaks = path.filter((step) => step.status === "break").length;
    lines.push(
      breaks === 0
        ? "no packet sent (--no-send): the kernel's state has no break on this path"
        : `no packet sent (--no-send): ${breaks} break${breaks === 1 ? "" : "s"} in the kernel's state`,
    );
    for (const reason of verdict.reasons) lines.push(`  - ${reason}`);
  } else if (verdict.delivered) {
    lines.push(
      `delivered${verdict.totalMs !== undefined ? ` in ${verdict.totalMs.toFixed(3)} ms` : ""}${verdict.lastSeen ? `, last seen at ${hop(verdict.lastSeen)}` : ""}`,
    );
  } else {
    const seen = verdict.lastSeen ? `last seen at ${hop(verdict.lastSeen)}` : "seen nowhere on the path";
    lines.push(`NOT delivered: ${seen}${verdict.stoppedAt ? `; went no further at ${hop(verdict.stoppedAt)}` : ""}`);
    for (const reason of verdict.reasons) lines.push(`  - ${reason}`);
  }
  return lines.join("\n");
}

export function renderJson(report: TraceReport): unknown {
  return {
    from: report.from,
    to: report.to,
    packet: { ...report.packet, df: true },
    path: report.path,
    reread: report.reread,
    impairments: report.impairments,
    live: report.live ?? null,
    verdict: report.verdict,
  };
}
