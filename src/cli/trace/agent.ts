// The two ends of a trace's live packet, each run inside its namespace by `cnikit netns
// exec` (so no thread with async work ever switches namespace): `listen` waits for the
// packet on the destination (a UDP datagram carrying our token, or a TCP connection),
// `send` sends it once from the source. Both print JSON lines and end when their stdin
// closes (the parent is done or gone) or after --timeout, whichever comes first.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { writeStdout } from "../output";

export interface AgentOptions {
  proto: "udp" | "tcp";
  family: 4 | 6;
  port: number;
  timeoutMs: number;
}

export interface SendOptions extends AgentOptions {
  to: string;
  /** Our source port: with the addresses it tells our packet from any other. */
  sourcePort: number;
  /** UDP payload bytes. */
  payloadBytes: number;
  token: Buffer;
}

/** "CKTR" + the run's 8-byte token, at the start of the UDP payload. */
export const TOKEN_MAGIC = Buffer.from("CKTR");

function say(event: Record<string, unknown>): void {
  writeStdout(JSON.stringify({ ...event, pid: process.pid, time: Date.now() / 1000 }));
}

/** Ends the agent when the parent closes our stdin, or after the time bound. */
function endOnParent(timeoutMs: number, cleanup: () => void): void {
  const end = (): void => {
    cleanup();
    process.exit(0);
  };
  setTimeout(end, timeoutMs).unref();
  process.stdin.on("data", () => undefined);
  process.stdin.on("end", end);
  process.stdin.on("error", end);
}

export function runListenAgent(options: AgentOptions & { token: Buffer }): void {
  if (options.proto === "tcp") {
    const server = net.createServer((socket) => {
      say({ event: "received", from: socket.remoteAddress, port: socket.remotePort });
      socket.destroy();
    });
    server.on("error", (err: NodeJS.ErrnoException) =>
      say({ event: "error", code: err.code ?? "EFAILED", message: err.message }),
    );
    server.listen({ port: options.port, host: options.family === 6 ? "::" : "0.0.0.0" }, () => say({ event: "ready" }));
    endOnParent(options.timeoutMs, () => server.close());
    return;
  }
  const socket = dgram.createSocket({ type: options.family === 6 ? "udp6" : "udp4" });
  const expected = Buffer.concat([TOKEN_MAGIC, options.token]);
  socket.on("message", (datagram, peer) => {
    if (datagram.subarray(0, expected.length).equals(expected))
      say({ event: "received", from: peer.address, port: peer.port, bytes: datagram.length });
  });
  socket.on("error", (err: NodeJS.ErrnoException) =>
    say({ event: "error", code: err.code ?? "EFAILED", message: err.message }),
  );
  socket.bind(options.port, () => say({ event: "ready" }));
  endOnParent(options.timeoutMs, () => socket.close());
}

export function runSendAgent(options: SendOptions): void {
  if (options.proto === "tcp") {
    // The SYN is the packet: sent by connect(), DF set as on every TCP segment Linux sends.
    say({ event: "sending" });
    const socket = net.connect({
      host: options.to,
      port: options.port,
      localPort: options.sourcePort,
      family: options.family,
    });
    socket.on("connect", () => {
      say({ event: "connected" });
      socket.destroy();
    });
    socket.on("error", (err: NodeJS.ErrnoException) =>
      say({ event: "error", code: err.code ?? "EFAILED", message: err.message }),
    );
    endOnParent(options.timeoutMs, () => socket.destroy());
    return;
  }
  const socket = dgram.createSocket({ type: options.family === 6 ? "udp6" : "udp4" });
  const payload = Buffer.alloc(Math.max(options.payloadBytes, TOKEN_MAGIC.length + options.token.length));
  TOKEN_MAGIC.copy(payload, 0);
  options.token.copy(payload, TOKEN_MAGIC.length);
  socket.on("error", (err: NodeJS.ErrnoException) =>
    say({ event: "error", code: err.code ?? "EFAILED", message: err.message }),
  );
  socket.bind(options.sourcePort, () => {
    // Linux sets DF on a datagram that fits the route's MTU (IP_PMTUDISC_WANT, the default);
    // the caller never sends one that does not (the kernel would fragment it instead).
    say({ event: "sending" });
    socket.send(payload, options.port, options.to, (err) => {
      if (err) say({ event: "error", code: (err as NodeJS.ErrnoException).code ?? "EFAILED", message: err.message });
      else say({ event: "sent" });
    });
  });
  endOnParent(options.timeoutMs, () => socket.close());
}
