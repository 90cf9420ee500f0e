// The kernel's own word on where our packet was freed: the trace-kernel helper
// (tracefs-session.ts) run in a private mount namespace, and, from what it recorded,
// our packet picked out of everything every namespace did meanwhile: it starts at the
// sender's own first transmit (its pid, the source interface, its length), is followed
// by its skb address from device to device (and to copies made within a few
// microseconds on the same CPU, as a bridge's flooding makes), and a kfree_skb of that
// address is its drop, with the reason and the function that dropped it.
import * as fs from "node:fs";
import * as path from "node:path";
import { selfCommand } from "../self";
import { type TraceChild, startChild } from "./child";
import type { KernelDrop } from "./types";

export interface FtraceEvent {
  comm: string;
  pid: number;
  cpu: number;
  time: number;
  event: string;
  skbaddr: string;
  dev?: string;
  len?: number;
  protocol?: number;
  location?: string;
  reason?: string;
}

const LINE = /^\s*(.+)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (\w+): (.*)$/;
const NET_EVENT = /dev=(\S+) skbaddr=(?:0x)?([0-9a-f]+) len=(\d+)/;
const DROP_EVENT = /skbaddr=(?:0x)?([0-9a-f]+)(?: rx_sk=\S+)? protocol=(\d+) location=(\S+)(?: reason: (\S+))?/;

/** The events of an ftrace `trace` file (comments and unknown lines left out). */
export function parseFtrace(text: string): FtraceEvent[] {
  const events: FtraceEvent[] = [];
  for (const line of text.split("\n")) {
    const head = LINE.exec(line);
    if (!head) continue;
    const [, comm = "", pid = "0", cpu = "0", time = "0", event = "", rest = ""] = head;
    const base = { comm: comm.trim(), pid: Number(pid), cpu: Number(cpu), time: Number(time), event };
    if (event === "kfree_skb") {
      const drop = DROP_EVENT.exec(rest);
      if (drop)
        events.push({
          ...base,
          skbaddr: drop[1] ?? "",
          protocol: Number(drop[2]),
          location: drop[3] ?? "",
          reason: drop[4] ?? "NOT_SPECIFIED",
        });
    } else {
      const net = NET_EVENT.exec(rest);
      if (net) events.push({ ...base, skbaddr: net[2] ?? "", dev: net[1] ?? "", len: Number(net[3]) });
    }
  }
  return events.sort((a, b) => a.time - b.time);
}

export interface OurPacket {
  /** The process that sent it (agent or ping). */
  senderPid: number;
  /** The interface it leaves the source by. */
  sourceDevice: string;
  /** Every device of the path. */
  devices: ReadonlySet<string>;
  /** skb->len values it can have on the way. */
  lengths: ReadonlySet<number>;
}

/** A copy made while forwarding shows up this soon after the packet, on the same CPU. */
const COPY_WINDOW_S = 0.002;
/** A drop is the packet's own only this soon after it was last seen (its address is reused later). */
const DROP_WINDOW_S = 0.1;

export function findOurDrops(events: readonly FtraceEvent[], packet: OurPacket): KernelDrop[] {
  const lastSeen = new Map<string, { dev: string; time: number }>();
  const drops: KernelDrop[] = [];
  let chain: { time: number; cpu: number } | undefined;
  for (const event of events) {
    if (event.event !== "kfree_skb") {
      const candidate =
        event.dev !== undefined &&
        packet.devices.has(event.dev) &&
        event.len !== undefined &&
        packet.lengths.has(event.len);
      const seed = candidate && event.pid === packet.senderPid && event.dev === packet.sourceDevice;
      const copy =
        candidate && chain !== undefined && event.cpu === chain.cpu && event.time - chain.time <= COPY_WINDOW_S;
      if (lastSeen.has(event.skbaddr) || seed || copy) {
        lastSeen.set(event.skbaddr, { dev: event.dev ?? "", time: event.time });
        chain = { time: event.time, cpu: event.cpu };
      }
      continue;
    }
    const seen = lastSeen.get(event.skbaddr);
    if (seen) {
      lastSeen.delete(event.skbaddr);
      if (event.time - seen.time <= DROP_WINDOW_S)
        drops.push({ reason: event.reason ?? "NOT_SPECIFIED", location: event.location ?? "", lastDevice: seen.dev });
    } else if (event.pid === packet.senderPid && chain === undefined && drops.length === 0) {
      // Freed inside the sender's own send, before any device saw it (a rule on output, no route).
      drops.push({ reason: event.reason ?? "NOT_SPECIFIED", location: event.location ?? "" });
    }
  }
  return drops;
}

function findTool(name: string): string | undefined {
  for (const dir of [
    ...(process.env.PATH ?? "").split(":").filter(Boolean),
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ]) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export interface KernelTracer {
  /** Stops recording and returns the buffer's events (the same ones on a second call). */
  finish(): Promise<FtraceEvent[]>;
}

const READY_WAIT_MS = 5000;
const FINISH_WAIT_MS = 5000;

/** Starts the helper; resolves once it records, or with the reason it cannot (the trace goes on without it). */
export async function startKernelTracer(options: {
  lengths: number[];
  protocol: number;
  limitMs: number;
}): Promise<KernelTracer | string> {
  const unshare = findTool("unshare");
  const setpriv = findTool("setpriv");
  if (!unshare || !setpriv) return "kernel drop reasons need unshare and setpriv (apt-get install util-linux)";
  // setpriv and unshare exec in place: the pid we hold is the helper's, and it dies with us.
  const argv = [
    setpriv,
    "--pdeathsig",
    "TERM",
    "--",
    unshare,
    "-m",
    "--propagation",
    "private",
    "--",
    ...selfCommand(),
    "trace-kernel",
    "--lengths",
    options.lengths.join(","),
    "--protocol",
    String(options.protocol),
    "--timeout-ms",
    String(options.limitMs),
  ];
  const helper: TraceChild = startChild("trace-kernel", argv, options.limitMs + FINISH_WAIT_MS);
  const ready = await helper.waitForLine(/^ready$/, READY_WAIT_MS);
  if (ready === undefined) {
    await helper.stop("SIGTERM", 1000);
    const why = helper.stderrText().trim().split("\n").pop() ?? "";
    return `no kernel drop reasons: the tracing helper did not start${why ? ` (${why.replace(/^cnikit: /, "")})` : ""}`;
  }
  let finished: Promise<FtraceEvent[]> | undefined;
  return {
    // Once only: the trace's normal end and its clean-up after a failure both call it.
    finish() {
      finished ??= (async () => {
        helper.closeInput();
        const timer = setTimeout(() => helper.child.kill("SIGKILL"), FINISH_WAIT_MS);
        await helper.ended;
        clearTimeout(timer);
        return parseFtrace(helper.stdoutText());
      })();
      return finished;
    },
  };
}
