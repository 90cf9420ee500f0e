// `cnikit trace-kernel` (hidden): the tracing half of a trace, run by the trace under
// `unshare -m --propagation private`, so that the tracefs mount it makes is private to
// it and goes away with it. In a tracing instance of its own (instances/cnikit-trace-PID,
// never the global buffer) it records skb:kfree_skb (why the kernel freed a packet) and
// net:net_dev_queue / net:netif_receive_skb (which packet was where: they carry the skb
// address and length) until told to stop, prints the buffer, and removes the instance.
// The tracepoints see every namespace; kernel-drops.ts picks our packet out.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeStdout } from "../output";
import { processAlive } from "../../process-alive";

export interface TraceKernelOptions {
  /** Lengths (skb->len) our packet can have at the net:* tracepoints. */
  lengths: number[];
  /** ETH_P_* of our packet (and its VXLAN carrier): 2048 or 34525. */
  protocol: number;
  timeoutMs: number;
}

const INSTANCE_PREFIX = "cnikit-trace-";
const DEFAULT_TRACEFS = "/sys/kernel/tracing";
const BUFFER_KB_PER_CPU = 4096;

function write(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

/** Instances that a killed trace left behind: their events off, then removed. */
function removeStaleInstances(root: string): void {
  const instances = path.join(root, "instances");
  for (const name of fs.readdirSync(instances)) {
    const pid = Number(name.slice(INSTANCE_PREFIX.length));
    if (!name.startsWith(INSTANCE_PREFIX) || !Number.isInteger(pid) || processAlive(pid)) continue;
    try {
      removeInstance(path.join(instances, name));
    } catch {
      // Another trace is removing it at the same moment.
    }
  }
}

function removeInstance(dir: string): void {
  try {
    write(path.join(dir, "tracing_on"), "0");
    write(path.join(dir, "events", "enable"), "0");
  } finally {
    fs.rmdirSync(dir);
  }
}

function mountTracefs(): { root: string; unmount: () => void } {
  // The usual place if it is there to mount over (only in our mount namespace), else a directory of our own.
  const usual = fs.existsSync(DEFAULT_TRACEFS);
  const root = usual ? DEFAULT_TRACEFS : fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-tracefs-"));
  const mounted = spawnSync("mount", ["-t", "tracefs", "nodev", root], { encoding: "utf8", timeout: 5000 });
  if (mounted.status !== 0)
    throw new Error(`cannot mount tracefs: ${(mounted.stderr || mounted.error?.message || "").trim()}`);
  return {
    root,
    unmount: () => {
      spawnSync("umount", [root], { timeout: 5000 });
      if (!usual) fs.rmdirSync(root);
    },
  };
}

/** Filters in ftrace's own language: only packets that can be ours reach the buffer. */
export function eventFilters(options: Pick<TraceKernelOptions, "lengths" | "protocol">): { drop: string; net: string } {
  return {
    drop: `protocol == ${options.protocol}`,
    net: [...new Set(options.lengths)].map((length) => `len == ${length}`).join(" || "),
  };
}

export async function runTraceKernel(options: TraceKernelOptions): Promise<void> {
  const { root, unmount } = mountTracefs();
  let instance: string | undefined;
  try {
    removeStaleInstances(root);
    instance = path.join(root, "instances", `${INSTANCE_PREFIX}${process.pid}`);
    fs.mkdirSync(instance);
    const dir = instance;
    write(path.join(dir, "buffer_size_kb"), String(BUFFER_KB_PER_CPU));
    // One clock for every CPU, so events of one packet handled on two CPUs stay in order.
    write(path.join(dir, "trace_clock"), "mono");
    const filters = eventFilters(options);
    const events: [string, string][] = [
      ["skb/kfree_skb", filters.drop],
      ["net/net_dev_queue", filters.net],
      ["net/netif_receive_skb", filters.net],
    ];
    for (const [event, filter] of events) {
      write(path.join(dir, "events", event, "filter"), filter);
      write(path.join(dir, "events", event, "enable"), "1");
    }
    write(path.join(dir, "tracing_on"), "1");
    writeStdout("ready");
    await untilStopped(options.timeoutMs);
    write(path.join(dir, "tracing_on"), "0");
    writeStdout(fs.readFileSync(path.join(dir, "trace"), "utf8"));
  } finally {
    if (instance && fs.existsSync(instance)) removeInstance(instance);
    unmount();
  }
}

/** Until a line on stdin, its end (the trace is done or gone), SIGTERM, or the time bound. */
function untilStopped(timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      process.stdin.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    process.once("SIGTERM", done);
    process.once("SIGINT", done);
    process.stdin.on("data", done);
    process.stdin.on("end", done);
    process.stdin.on("error", done);
  });
}
