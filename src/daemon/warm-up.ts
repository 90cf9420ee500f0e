// A worker's warm-up: before the daemon listens, the first workers run bridge + host-local
// ADD/DEL pairs of their own through the same skel as a request, so that the JIT has
// compiled the request path before the first real call (workers run the normal JIT
// policy, src/daemon/jit.ts). Measured side by side (bridge + host-local ADD, a daemon per
// host namespace, calls alternated): a worker that had served 300 calls answered an ADD
// in 3.3-3.6 ms of its own time against 4.0-4.3 ms interpreted (the policy the executable
// starts with), and its first 50 calls paid for the compiling (6.5 ms).
//
// The calls run in two unnamed network namespaces of this worker's (native netnsUnshare:
// nothing names them, so they end with their fds, whatever kills us), this thread inside
// the "host" one for the duration, with the store, the locks and a host-local link of
// their own in a scratch directory that is removed afterwards. Nothing of the machine's
// is touched, and no call is counted, logged or seen as a request.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { native } from "../../native";
import { decodeJsonObject } from "../cni/config";
import { runServed, servedPlugin } from "./plugins";

/** The scratch directories' prefix; a daemon killed during its warm-up leaves one, removed by the next (cleanStaleScratch). */
const SCRATCH_PREFIX = "cnikit-warm-up-";

export interface WarmUpReport {
  calls: number;
  durationMs: number;
  /** Why the warm-up ended early (the worker serves all the same, only colder). */
  failed?: string;
}

function warmUpConfig(scratch: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: "cnikit-warm-up",
      type: "bridge",
      bridge: "cnikit-warm0",
      isGateway: true,
      ipam: { type: "host-local", subnet: "10.255.0.0/24", dataDir: path.join(scratch, "ipam") },
    }),
  );
}

/** One call through the skel, as serve.ts runs a request (runServed); its deferred work runs right after. */
async function runCall(env: Record<string, string>, stdin: Buffer): Promise<void> {
  const target = servedPlugin("bridge");
  if (!target) throw new Error("the bridge plugin is not served");
  const deferred: Array<() => void> = [];
  const { status, stdout } = await runServed(target, {
    env,
    stdin,
    decodedStdin: decodeJsonObject(stdin),
    writeStderr: () => undefined,
    afterAnswer: (work) => deferred.push(work),
  });
  for (const work of deferred) work();
  if (status !== 0) throw new Error(`${env.CNI_COMMAND} answered ${stdout.slice(0, 300)}`);
}

function closeQuietly(fd: number): void {
  if (fd < 0) return;
  try {
    native().close(fd);
  } catch {
    // already closed
  }
}

/** Removes the scratch directories of daemons that died during their warm-up. */
export function cleanStaleScratch(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names.filter((entry) => entry.startsWith(SCRATCH_PREFIX))) {
    const pid = Number(name.slice(SCRATCH_PREFIX.length).split("-")[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !fs.existsSync(`/proc/${pid}`))
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

/** Runs `pairs` ADD/DEL pairs (fewer when stop() says so); never throws. */
export async function warmUp(pairs: number, workerIndex: number, stop: () => boolean): Promise<WarmUpReport> {
  const started = performance.now();
  const report: WarmUpReport = { calls: 0, durationMs: 0 };
  if (pairs <= 0) return report;
  let scratch: string | undefined;
  let host = -1;
  let container = -1;
  let back = -1;
  try {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), `${SCRATCH_PREFIX}${process.pid}-${workerIndex}-`));
    // CNI_PATH leads back to this executable, so host-local runs in-process as in a request.
    const pluginDir = path.join(scratch, "bin");
    fs.mkdirSync(pluginDir);
    fs.symlinkSync(process.execPath, path.join(pluginDir, "host-local"));
    host = native().netnsUnshare();
    container = native().netnsUnshare();
    back = native().netnsEnter(host);
    const stdin = warmUpConfig(scratch);
    const env = (command: string, index: number): Record<string, string> => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: `cnikit-warm-up-${index}`,
      CNI_NETNS: `/proc/self/fd/${container}`,
      CNI_IFNAME: "eth0",
      CNI_PATH: pluginDir,
      CNIKIT_LOCK_DIR: path.join(scratch as string, "locks"),
    });
    for (let index = 0; index < pairs && !stop(); index++) {
      await runCall(env("ADD", index), stdin);
      await runCall(env("DEL", index), stdin);
      report.calls += 2;
      // A call's promises settle without ever leaving the microtask queue: yield, so
      // that a stop message is seen between pairs.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    report.failed = (err as Error).message;
  } finally {
    if (back >= 0) {
      // Back to the daemon's namespace; what we get is an fd of the warm-up host's.
      closeQuietly(native().netnsEnter(back));
      closeQuietly(back);
    }
    closeQuietly(container);
    closeQuietly(host);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}
