// Resident mode in tests: with CNIKIT_TEST_DAEMON=1 every host namespace a fixture makes
// gets its own `cnikit daemon`, so the same suites run through the front end and a
// daemon as well as standalone. Each daemon's pid is recorded next to the run's marker
// (`<MARKER_DIR>/<prefix>daemon-<pid>`), so cleanup ends exactly the daemons this run
// started, by pid, also after a run that was killed.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MARKER_DIR } from "./naming";

export const DAEMON_MODE_ENV = "CNIKIT_TEST_DAEMON";
/** The shipped executable; daemons run it unless a suite asks for the test build. */
export const SHIPPED_EXECUTABLE = path.join(__dirname, "..", "dist", "bin", "cnikit");
/** The test build (scripts/build.sh): the only one whose plugins and daemon have the crash hooks. */
export const TEST_BUILD_EXECUTABLE = path.join(__dirname, "..", "dist", "test-bin", "cnikit");
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export function daemonMode(): boolean {
  return process.env[DAEMON_MODE_ENV] === "1";
}

export interface FixtureDaemon {
  netns: string;
  pid: number;
  logFile: string;
  executable: string;
}

function sleep(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}

export function pidAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function pidFile(prefix: string, pid: number): string {
  return path.join(MARKER_DIR, `${prefix}daemon-${pid}`);
}

/** `cnikit daemon --netns NAME`, detached; returns once its log says it is ready. */
export function startDaemon(
  prefix: string,
  netns: string,
  extraArgs: readonly string[] = [],
  executable: string = SHIPPED_EXECUTABLE,
  launcher: readonly string[] = [],
): FixtureDaemon {
  const logFile = path.join(os.tmpdir(), `cnikit-daemon-${netns}-${Date.now()}.log`);
  const log = fs.openSync(logFile, "a");
  // A launcher (e.g. nsenter into a mount namespace) must exec the daemon, so the pid stays the daemon's.
  // Tests start hundreds of short-lived daemons: without a warm-up each is ready in
  // milliseconds instead of about 1.5 s (the warm-up has tests of its own; benchmarks ask for it).
  const warmUp = extraArgs.includes("--warm-up") ? [] : ["--warm-up", "0"];
  const [file, ...args] = [...launcher, executable, "daemon", "--netns", netns, ...warmUp, ...extraArgs];
  const child = spawn(file ?? executable, args, {
    detached: true,
    stdio: ["ignore", "ignore", log],
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${executable} daemon`);
  fs.mkdirSync(MARKER_DIR, { recursive: true });
  fs.writeFileSync(pidFile(prefix, pid), netns);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (fs.readFileSync(logFile, "utf8").includes('"event":"ready"')) return { netns, pid, logFile, executable };
    if (!pidAlive(pid))
      throw new Error(`cnikit daemon in ${netns} exited at start: ${fs.readFileSync(logFile, "utf8")}`);
    sleep(10);
  }
  stopDaemonPid(prefix, pid);
  throw new Error(`cnikit daemon in ${netns} was not ready within ${READY_TIMEOUT_MS} ms`);
}

/** SIGTERM, SIGKILL after a bound; returns once the process is gone. */
export function stopDaemonPid(prefix: string, pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // already gone
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (pidAlive(pid) && Date.now() < deadline) sleep(10);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    while (pidAlive(pid)) sleep(10);
  }
  fs.rmSync(pidFile(prefix, pid), { force: true });
}

/** Ends every daemon recorded under `prefix` (a fixture's, or a whole run's). */
export function stopDaemonsOf(prefix: string): number[] {
  let files: string[] = [];
  try {
    files = fs.readdirSync(MARKER_DIR).filter((file) => file.startsWith(`${prefix}`) && /daemon-\d+$/.test(file));
  } catch {
    return [];
  }
  const pids = files.map((file) => Number(/daemon-(\d+)$/.exec(file)?.[1]));
  for (const pid of pids) {
    // Only a pid that is still one of our daemons: a recycled pid is left alone.
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      // gone
    }
    if (cmdline.includes("daemon")) stopDaemonPid(prefix, pid);
    else fs.rmSync(pidFile(prefix, pid), { force: true });
  }
  return pids;
}
