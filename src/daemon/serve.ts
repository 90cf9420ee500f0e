// One connection, served by a worker thread: the caller's uid, the hello, the body,
// then the same skel a standalone process runs, with the request's own environment,
// stdin and plugin name (src/cni/request-context.ts). Frames go back as PROTOCOL.md says.
import { CniError, ErrorCode } from "../cni/errors";
import { decodeJsonObject } from "../cni/config";
import { errorVersionOfConfig } from "../cni/skel";
import { workerCrashHook } from "../cni/test-hooks";
import { CURRENT_VERSION } from "../cni/versions";
import { native } from "../../native";
import type { IpamUse, RequestSummary, WorkerData, WorkerMessage } from "./messages";
import { runServed, servedPlugin } from "./plugins";
import { type RequestSlot, Slot } from "./slot";
import {
  HELLO_LENGTH,
  Refusal,
  STATUS_MAGIC,
  decodeEnvBlock,
  decodeHello,
  encodeAccept,
  encodeAnswer,
  encodeFrame,
  encodeRefusal,
  overLimit,
} from "./protocol";

/** Writing back to a caller that stopped reading. */
const WRITE_TIMEOUT_MS = 5_000;

export interface Connection {
  fd: number;
  pid: number;
  uid: number;
}

function write(fd: number, bytes: Buffer): void {
  native().sockWrite(fd, bytes, WRITE_TIMEOUT_MS);
}

function summaryOf(plugin: string, env: Record<string, string>): RequestSummary {
  return {
    plugin,
    command: env.CNI_COMMAND ?? "",
    containerId: env.CNI_CONTAINERID ?? "",
    ifName: env.CNI_IFNAME ?? "",
    netns: env.CNI_NETNS ?? "",
  };
}

/** The CNI code of what the skel printed: 0 for success, the error's code otherwise. */
function resultCode(status: number, stdout: string): number {
  if (status === 0) return 0;
  try {
    const code = (JSON.parse(stdout) as { code?: unknown }).code;
    return typeof code === "number" ? code : ErrorCode.Internal;
  } catch {
    return ErrorCode.Internal;
  }
}

/** host-local's data directory and ranges, when this call used it (for the metrics). */
function ipamUseOf(plugin: string, config: Record<string, unknown>): IpamUse | undefined {
  const ipam = config.ipam as Record<string, unknown> | undefined;
  if (
    typeof config.name !== "string" ||
    typeof ipam !== "object" ||
    ipam === null ||
    (ipam.type !== "host-local" && plugin !== "host-local")
  )
    return undefined;
  const ranges = Array.isArray(ipam.ranges)
    ? (ipam.ranges as IpamUse["ranges"])
    : typeof ipam.subnet === "string"
      ? [
          [
            {
              subnet: ipam.subnet,
              rangeStart: ipam.rangeStart as string,
              rangeEnd: ipam.rangeEnd as string,
              gateway: ipam.gateway as string,
            },
          ],
        ]
      : [];
  const dataDir = typeof ipam.dataDir === "string" ? ipam.dataDir : "/var/lib/cni/networks";
  return { network: config.name, dataDir, ranges };
}

/** What the daemon needs of the config besides the plugin; the decoded config goes on to the skel (one parse per request). */
function describeStdin(
  plugin: string,
  stdin: Buffer,
): { errorVersion: string; ipam: IpamUse | undefined; config?: Record<string, unknown> } {
  try {
    const config = decodeJsonObject(stdin);
    return { errorVersion: errorVersionOfConfig(config), ipam: ipamUseOf(plugin, config), config };
  } catch {
    // Undecodable: the skel decodes it again and answers the error itself.
    return { errorVersion: CURRENT_VERSION, ipam: undefined };
  }
}

function refuse(
  connection: Connection,
  reason: (typeof Refusal)[keyof typeof Refusal],
  text: string,
  post: (message: WorkerMessage) => void,
): void {
  try {
    write(connection.fd, encodeRefusal(reason, text));
  } catch {
    // the caller is gone: nothing to tell it
  }
  native().close(connection.fd);
  post({ kind: "refused", uid: connection.uid, pid: connection.pid, reason: text });
}

/** Serves one accepted connection to its end; never throws. */
export async function serveConnection(
  connection: Connection,
  data: WorkerData,
  slot: RequestSlot,
  post: (message: WorkerMessage) => void,
): Promise<void> {
  const { fd } = connection;
  if (connection.uid !== 0 && connection.uid !== data.allowedUid) {
    refuse(connection, Refusal.Uid, `uid ${connection.uid} is not served (only uid 0 and the daemon's own)`, post);
    return;
  }
  let plugin: string;
  let env: Record<string, string>;
  let stdin: Buffer;
  try {
    const header = native().sockRead(fd, HELLO_LENGTH, data.bodyTimeoutMs);
    if (header.length < HELLO_LENGTH) throw new Error("the caller closed the connection before its hello");
    const hello = decodeHello(header);
    const tooLong = overLimit(hello);
    if (tooLong) {
      refuse(connection, Refusal.TooLong, `${tooLong} is over the daemon's bound`, post);
      return;
    }
    const buildId = native().sockRead(fd, hello.buildIdLength, data.bodyTimeoutMs).toString("latin1");
    if (hello.magic === STATUS_MAGIC) {
      post({ kind: "status", fd }); // the main thread knows the numbers; it answers and closes
      return;
    }
    if (buildId !== data.buildId) {
      refuse(connection, Refusal.OtherBuild, `the daemon is build ${data.buildId}, the caller ${buildId}`, post);
      return;
    }
    write(fd, encodeAccept(data.limitMs));
    const bodyLength = hello.pluginLength + hello.envLength + hello.stdinLength;
    const body = native().sockRead(fd, bodyLength, data.bodyTimeoutMs);
    if (body.length < bodyLength)
      throw new Error(`the caller closed the connection after ${body.length} of ${bodyLength} body bytes`);
    plugin = body.toString("utf8", 0, hello.pluginLength);
    env = decodeEnvBlock(body.subarray(hello.pluginLength, hello.pluginLength + hello.envLength));
    stdin = Buffer.from(body.subarray(hello.pluginLength + hello.envLength));
  } catch (err) {
    native().close(fd);
    post({ kind: "dropped", pid: connection.pid, reason: (err as Error).message });
    return;
  }
  await runRequest(data, fd, plugin, env, stdin, slot, post);
}

/** Test build only (src/cni/test-hooks.ts): an exception nothing catches, then no answer. */
function crashWorker(): Promise<never> {
  setImmediate(() => {
    throw new Error("a worker crash, on purpose (test hook)");
  });
  return new Promise(() => undefined);
}

async function runRequest(
  data: WorkerData,
  fd: number,
  plugin: string,
  env: Record<string, string>,
  stdin: Buffer,
  slot: RequestSlot,
  post: (message: WorkerMessage) => void,
): Promise<void> {
  const summary = summaryOf(plugin, env);
  const started = performance.now();
  const { errorVersion, ipam, config } = describeStdin(plugin, stdin);
  slot.begin(fd, errorVersion);
  if (workerCrashHook(env)) await crashWorker();
  const writeStderr = (text: string): void => {
    // Streamed as it comes, like a process's stderr; a caller gone away loses nothing we need.
    if (slot.state !== Slot.Busy) return;
    try {
      write(fd, encodeFrame("e", Buffer.from(text, "utf8")));
    } catch {
      // the caller is gone; the request still runs to its end, as a process would
    }
  };
  // Work a plugin left for after the answer (the kernel's RCU wait of a veth deletion).
  const deferred: Array<() => void> = [];
  const target = servedPlugin(plugin);
  let status: number;
  let output: string;
  if (target) {
    ({ status, stdout: output } = await runServed(target, {
      env,
      stdin,
      ...(config && { decodedStdin: config }),
      writeStderr,
      trackFd: (lockFd: number, open: boolean) => {
        if (!slot.track(lockFd, open)) post({ kind: "fd", fd: lockFd, open });
      },
      afterAnswer: (work: () => void) => deferred.push(work),
    }));
  } else {
    const error = new CniError(
      ErrorCode.PluginNotAvailable,
      `cnikit daemon: no plugin named ${JSON.stringify(plugin)}`,
    );
    output = JSON.stringify(error.toJSON(errorVersion));
    status = 1;
  }
  // Exactly one side answers: we, unless the main thread already did (time limit).
  if (slot.claim(Slot.Answering)) {
    Atomics.add(new Int32Array(data.served), 0, 1);
    try {
      write(fd, encodeAnswer(output, status));
    } catch {
      // the caller is gone
    }
    native().close(fd);
    slot.idle();
  }
  const durationMs = performance.now() - started;
  for (const work of deferred) {
    try {
      work();
    } catch {
      // after the answer nobody can be told; the work only waits for the kernel
    }
  }
  post({
    kind: "end",
    durationMs,
    exitStatus: status,
    code: resultCode(status, output),
    ...summary,
    ...(ipam ? { ipam } : {}),
  });
}
