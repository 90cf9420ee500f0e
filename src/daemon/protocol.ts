// The wire format between the front end (native/cnikit_front.c) and the daemon, as
// src/daemon/PROTOCOL.md describes it. Both sides of it live here so the daemon, the
// status client and the tests agree on every byte.

/** The abstract socket name (without the leading NUL), one per network namespace. */
export const SOCKET_NAME = "cnikit-daemon/1";
export const HELLO_MAGIC = "CNK1";
/** A hello with the body right behind it, before the verdict (a body of at most 64 KiB). */
export const EAGER_HELLO_MAGIC = "CNK2";
export const STATUS_MAGIC = "CNKS";
export const HELLO_LENGTH = 20;

export const LIMITS = {
  buildId: 64,
  pluginName: 255,
  env: 1024 * 1024,
  stdin: 64 * 1024 * 1024,
} as const;

/** Why a hello was not served (the front end then runs standalone). */
export const Refusal = {
  OtherBuild: "B",
  TooLong: "L",
  Uid: "U",
  Stopping: "S",
  Malformed: "M",
} as const;
export type RefusalReason = (typeof Refusal)[keyof typeof Refusal];

export interface Hello {
  magic: typeof HELLO_MAGIC | typeof EAGER_HELLO_MAGIC | typeof STATUS_MAGIC;
  buildIdLength: number;
  pluginLength: number;
  envLength: number;
  stdinLength: number;
}

/** The fixed part of a hello; throws a message naming the bad field. */
export function decodeHello(bytes: Buffer): Hello {
  if (bytes.length < HELLO_LENGTH) throw new Error(`hello: ${bytes.length} bytes, want ${HELLO_LENGTH}`);
  const magic = bytes.toString("latin1", 0, 4);
  if (magic !== HELLO_MAGIC && magic !== EAGER_HELLO_MAGIC && magic !== STATUS_MAGIC)
    throw new Error(`hello: magic ${JSON.stringify(magic)}`);
  return {
    magic,
    buildIdLength: bytes.readUInt32LE(4),
    pluginLength: bytes.readUInt32LE(8),
    envLength: bytes.readUInt32LE(12),
    stdinLength: bytes.readUInt32LE(16),
  };
}

/** The first length over its bound, named; undefined when all fit. */
export function overLimit(hello: Hello): string | undefined {
  if (hello.buildIdLength < 1 || hello.buildIdLength > LIMITS.buildId) return `build id length ${hello.buildIdLength}`;
  if (hello.magic === STATUS_MAGIC) return undefined;
  if (hello.pluginLength < 1 || hello.pluginLength > LIMITS.pluginName)
    return `plugin name length ${hello.pluginLength}`;
  if (hello.envLength > LIMITS.env) return `environment of ${hello.envLength} bytes (at most ${LIMITS.env})`;
  if (hello.stdinLength > LIMITS.stdin) return `stdin of ${hello.stdinLength} bytes (at most ${LIMITS.stdin})`;
  return undefined;
}

export function encodeHello(
  magic: Hello["magic"],
  buildId: string,
  pluginLength: number,
  envLength: number,
  stdinLength: number,
): Buffer {
  const id = Buffer.from(buildId, "latin1");
  const bytes = Buffer.alloc(HELLO_LENGTH + id.length);
  bytes.write(magic, 0, "latin1");
  bytes.writeUInt32LE(id.length, 4);
  bytes.writeUInt32LE(pluginLength, 8);
  bytes.writeUInt32LE(envLength, 12);
  bytes.writeUInt32LE(stdinLength, 16);
  id.copy(bytes, HELLO_LENGTH);
  return bytes;
}

export function encodeAccept(limitMs: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes.write("Y", 0, "latin1");
  bytes.writeUInt32LE(limitMs, 1);
  return bytes;
}

export function encodeRefusal(reason: RefusalReason, text: string): Buffer {
  const message = Buffer.from(text, "utf8");
  const bytes = Buffer.alloc(6 + message.length);
  bytes.write("N", 0, "latin1");
  bytes.write(reason, 1, "latin1");
  bytes.writeUInt32LE(message.length, 2);
  message.copy(bytes, 6);
  return bytes;
}

export type FrameType = "e" | "o" | "x";

export function encodeFrame(type: FrameType, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeUInt32LE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** The end of an answer: stdout (when there is any) and the exit status, in one write. */
export function encodeAnswer(stdout: string, status: number): Buffer {
  const exit = Buffer.alloc(4);
  exit.writeUInt32LE(status, 0);
  const frames = stdout === "" ? [] : [encodeFrame("o", Buffer.from(stdout, "utf8"))];
  return Buffer.concat([...frames, encodeFrame("x", exit)]);
}

/** `NAME=value\0...` as in environ; a NAME with no `=` is skipped, like the C library does. */
export function decodeEnvBlock(block: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of block.toString("utf8").split("\0")) {
    const equals = entry.indexOf("=");
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

export function encodeEnvBlock(env: Readonly<Record<string, string | undefined>>): Buffer {
  return Buffer.from(
    Object.entries(env)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => `${name}=${value}\0`)
      .join(""),
    "utf8",
  );
}

/** Frames read back (the status client and tests): stdout, stderr and the status, if it came. */
export interface DecodedAnswer {
  stdout: string;
  stderr: string;
  status: number | undefined;
}

export function decodeFrames(bytes: Buffer): DecodedAnswer {
  const answer: DecodedAnswer = { stdout: "", stderr: "", status: undefined };
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const type = bytes.toString("latin1", offset, offset + 1);
    const length = bytes.readUInt32LE(offset + 1);
    const payload = bytes.subarray(offset + 5, offset + 5 + length);
    if (payload.length < length) break;
    offset += 5 + length;
    if (type === "o") answer.stdout += payload.toString("utf8");
    else if (type === "e") answer.stderr += payload.toString("utf8");
    else if (type === "x") answer.status = payload.readUInt32LE(0);
  }
  return answer;
}
