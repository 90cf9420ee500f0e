// Verdicts and the matrix: every pair is ok, unreachable, or loses datagrams above a
// size it names (an MTU black hole), each with what was measured.
import { formatTable } from "../output";
import type { PairResult } from "./runner";

export type Verdict = "ok" | "unreachable" | "mtu-black-hole" | "fragments-lost";

export interface PairReport {
  from: string;
  to: string;
  address: string;
  verdict: Verdict;
  /** One sentence for people. */
  explanation: string;
  sent: number;
  received: number;
  rttMs?: { min: number; avg: number; max: number };
  /** Largest UDP payload that arrived, and the largest the sender's route sends as one packet. */
  largestPayload?: number;
  payloadLimit?: number;
  fragmented?: { size: number; crossed: boolean };
  error?: string;
}

export function judge(pair: PairResult): PairReport {
  const { result } = pair;
  const report: PairReport = {
    from: pair.from.name,
    to: pair.to.name,
    address: pair.address,
    verdict: "ok",
    explanation: "",
    sent: result.sent,
    received: result.received,
  };
  if (result.rtt) report.rttMs = { min: result.rtt.minMs, avg: result.rtt.avgMs, max: result.rtt.maxMs };
  if (result.error) report.error = result.error;
  const sizes = result.sizes;
  if (sizes) {
    report.largestPayload = sizes.largest;
    report.payloadLimit = sizes.limit;
    if (sizes.fragmented) report.fragmented = sizes.fragmented;
  }
  if (result.received === 0) {
    report.verdict = "unreachable";
    report.explanation = result.error ? `cannot send: ${result.error}` : `no answer to ${result.sent} datagrams`;
  } else if (sizes && sizes.largest < sizes.limit) {
    report.verdict = "mtu-black-hole";
    report.explanation = `datagrams over ${sizes.largest} bytes are lost; the sender's route sends up to ${sizes.limit} in one packet`;
  } else if (sizes?.fragmented && !sizes.fragmented.crossed) {
    report.verdict = "fragments-lost";
    report.explanation = `a ${sizes.fragmented.size}-byte datagram sent as IP fragments never arrived`;
  } else {
    const loss =
      result.received < result.sent ? `, ${result.sent - result.received}/${result.sent} small datagrams lost` : "";
    report.explanation = sizes ? `up to ${sizes.largest} bytes in one packet${loss}` : `reachable${loss}`;
  }
  return report;
}

/** One cell of the matrix: `ok 0.12ms`, `FAIL`, `MTU 1422 0.12ms`, `FRAG 0.12ms` (also drawn by `lab graph`). */
export function cell(report: PairReport | undefined): string {
  if (!report) return "-";
  if (report.verdict === "unreachable") return "FAIL";
  const rtt = report.rttMs ? `${report.rttMs.avg.toFixed(2)}ms` : "";
  if (report.verdict === "mtu-black-hole") return `MTU ${report.largestPayload} ${rtt}`;
  if (report.verdict === "fragments-lost") return `FRAG ${rtt}`;
  return `ok ${rtt}`;
}

/** Rows are senders, columns receivers; then one line per pair with the numbers. */
export function renderReports(reports: readonly PairReport[]): string {
  // Same order down and across, so the diagonal is the "-" of a namespace and itself.
  const names = [...new Set(reports.flatMap((report) => [report.from, report.to]))];
  const senders = names.filter((name) => reports.some((report) => report.from === name));
  const receivers = names.filter((name) => reports.some((report) => report.to === name));
  const matrix = formatTable(
    ["FROM \\ TO", ...receivers],
    senders.map((from) => [
      from,
      ...receivers.map((to) =>
        from === to ? "-" : cell(reports.find((report) => report.from === from && report.to === to)),
      ),
    ]),
  );
  const details = formatTable(
    ["FROM", "TO", "ADDRESS", "RECV", "RTT MIN/AVG/MAX MS", "LARGEST", "LIMIT", "FRAGMENTS", "VERDICT"],
    reports.map((report) => [
      report.from,
      report.to,
      report.address,
      `${report.received}/${report.sent}`,
      report.rttMs ? `${report.rttMs.min}/${report.rttMs.avg}/${report.rttMs.max}` : "-",
      report.largestPayload === undefined ? "-" : String(report.largestPayload),
      report.payloadLimit === undefined ? "-" : String(report.payloadLimit),
      report.fragmented ? `${report.fragmented.size} ${report.fragmented.crossed ? "ok" : "lost"}` : "-",
      `${report.verdict}: ${report.explanation}`,
    ]),
  );
  const failed = reports.filter((report) => report.verdict !== "ok").length;
  const summary = failed === 0 ? `all ${reports.length} pairs ok` : `${failed} of ${reports.length} pairs failed`;
  return `${matrix}\n\n${details}\n\n${summary}`;
}
