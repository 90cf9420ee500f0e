// A front end in the test process: speaks src/daemon/PROTOCOL.md to the daemon of a
// namespace directly (no process per request), for tests that send thousands of
// requests or half a request on purpose.
import { native } from "../../native";
import {
  HELLO_MAGIC,
  SOCKET_NAME,
  decodeFrames,
  encodeEnvBlock,
  encodeHello,
  type DecodedAnswer,
} from "../../src/daemon/protocol";

export interface RawRequest {
  netnsPath: string;
  buildId: string;
  plugin: string;
  env: Record<string, string>;
  stdin: string;
}

export function connectTo(netnsPath: string): number {
  return native().unixConnect(SOCKET_NAME, 1000, netnsPath);
}

/** Everything the daemon sends until it closes the connection. */
export function readToEnd(fd: number, timeoutMs = 10_000): Buffer {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = native().sockRead(fd, 65536, timeoutMs);
    chunks.push(chunk);
    if (chunk.length < 65536) return Buffer.concat(chunks);
  }
}

/** One whole request; the decoded answer. */
export function rawRequest(request: RawRequest): DecodedAnswer & { verdict: string } {
  const fd = connectTo(request.netnsPath);
  try {
    const stdin = Buffer.from(request.stdin);
    const plugin = Buffer.from(request.plugin);
    const env = encodeEnvBlock(request.env);
    native().sockWrite(fd, encodeHello(HELLO_MAGIC, request.buildId, plugin.length, env.length, stdin.length), 1000);
    const verdict = native().sockRead(fd, 5, 5000).toString("latin1", 0, 1);
    if (verdict !== "Y") return { verdict, stdout: "", stderr: "", status: undefined };
    native().sockWrite(fd, Buffer.concat([plugin, env, stdin]), 5000);
    return { verdict, ...decodeFrames(readToEnd(fd)) };
  } finally {
    native().close(fd);
  }
}
