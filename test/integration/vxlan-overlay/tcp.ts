// TCP across the overlay with nothing but node: an echo server run inside one namespace,
// a client inside another that sends a token (or a bulk of bytes) and checks the echo.
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import type { Netns } from "../../../netns-fixtures";

// Server: listen, say "ready", echo every connection back, exit after `connections` of them.
const ECHO_SERVER = `
const [address, port, connections, timeoutMs] = process.argv.slice(1);
let left = Number(connections);
const server = require("node:net").createServer((socket) => {
  socket.pipe(socket);
  socket.on("close", () => { if (--left === 0) process.exit(0); });
  socket.on("error", () => {});
});
server.listen(Number(port), address, () => process.stdout.write("ready\\n"));
setTimeout(() => process.exit(3), Number(timeoutMs));
`;

// Client: connect, write `bytes` bytes made of the token, end; exit 0 when the same bytes came back.
const ECHO_CLIENT = `
const [address, port, token, bytes, timeoutMs] = process.argv.slice(1);
const payload = Buffer.alloc(Number(bytes), token);
const chunks = [];
let received = 0;
const socket = require("node:net").connect(Number(port), address, () => socket.end(payload));
socket.on("data", (chunk) => { chunks.push(chunk); received += chunk.length; });
socket.on("end", () => process.exit(received === payload.length && Buffer.concat(chunks).equals(payload) ? 0 : 4));
socket.on("error", (err) => { process.stderr.write(String(err)); process.exit(2); });
setTimeout(() => process.exit(3), Number(timeoutMs));
`;

function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export interface TcpEcho {
  from: Netns;
  to: Netns;
  /** Address inside `to` the server listens on and the client connects to. */
  address: string;
  /** Bytes sent and expected back (default 64 KiB: many segments of full size). */
  bytes?: number;
  timeoutMs?: number;
}

/** Whether a TCP connection from `from` to `to` carried `bytes` there and back intact. */
export async function tcpEcho(probe: TcpEcho): Promise<boolean> {
  const port = String(20_000 + Math.floor(Math.random() * 20_000));
  const timeoutMs = String(probe.timeoutMs ?? 5_000);
  const server = spawn(
    "nsenter",
    [`--net=${probe.to.path}`, process.execPath, "-e", ECHO_SERVER, probe.address, port, "1", timeoutMs],
    {
      env: nodeEnv(),
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  try {
    const ready = await new Promise<boolean>((resolve) => {
      let output = "";
      server.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("ready")) resolve(true);
      });
      server.on("close", () => resolve(false));
      server.on("error", () => resolve(false));
    });
    if (!ready) return false;
    const token = crypto.randomBytes(8).toString("hex");
    const client = spawnSync(
      "nsenter",
      [
        `--net=${probe.from.path}`,
        process.execPath,
        "-e",
        ECHO_CLIENT,
        probe.address,
        port,
        token,
        String(probe.bytes ?? 65_536),
        timeoutMs,
      ],
      { env: nodeEnv(), encoding: "utf8", timeout: Number(timeoutMs) + 2_000 },
    );
    return client.status === 0;
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  }
}
