// Real traffic between namespaces. UDP through node:dgram needs nothing installed
// beyond node; `ping` needs iputils-ping (scripts/setup.sh installs it).
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as net from "node:net";
import { type NetnsRef, resolveNetns } from "./ip";

export interface UdpProbe {
  from: NetnsRef;
  to: NetnsRef;
  /** Destination address, configured inside `to`. */
  address: string;
  port?: number;
  timeoutMs?: number;
}

// Receiver: bind, say "ready", print the first datagram carrying our token, exit.
const RECEIVER = `
const [family, port, token, timeoutMs] = process.argv.slice(1);
const sock = require("node:dgram").createSocket(family);
sock.on("message", (msg) => { if (msg.toString() === token) { process.stdout.write("got\\n"); process.exit(0); } });
sock.bind(Number(port), () => process.stdout.write("ready\\n"));
setTimeout(() => process.exit(3), Number(timeoutMs));
`;

// Sender: a few datagrams spaced out, so one lost while ARP/ND resolves does not fail the probe.
const SENDER = `
const [family, address, port, token] = process.argv.slice(1);
const sock = require("node:dgram").createSocket(family);
let sent = 0;
const send = () => sock.send(token, Number(port), address, (err) => {
  if (err) { process.stderr.write(String(err)); process.exit(2); }
  if (++sent < 5) setTimeout(send, 100); else sock.close();
});
send();
`;

/** Node without the CA bundle variable that costs ~40 ms per start on these machines. */
function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Sends a UDP datagram from one namespace to an address in another; resolves whether it arrived. */
export async function udpProbe(probe: UdpProbe): Promise<boolean> {
  const family = net.isIPv6(probe.address) ? "udp6" : "udp4";
  const port = String(probe.port ?? 40_000 + Math.floor(Math.random() * 20_000));
  const token = crypto.randomBytes(8).toString("hex");
  // Generous: two node starts on a loaded 2-core machine can take seconds; only a failing probe waits this long.
  const timeoutMs = probe.timeoutMs ?? 6_000;
  const receiver = spawn(
    "nsenter",
    [`--net=${resolveNetns(probe.to).path}`, process.execPath, "-e", RECEIVER, family, port, token, String(timeoutMs)],
    { env: nodeEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    let output = "";
    const finished = new Promise<boolean>((resolve) => {
      receiver.on("close", () => resolve(output.includes("got")));
      receiver.on("error", () => resolve(false));
    });
    const ready = new Promise<boolean>((resolve) => {
      receiver.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("ready")) resolve(true);
      });
      void finished.then(() => resolve(false));
    });
    if (!(await ready)) return false;
    const sender = spawnSync(
      "nsenter",
      [`--net=${resolveNetns(probe.from).path}`, process.execPath, "-e", SENDER, family, probe.address, port, token],
      { env: nodeEnv(), encoding: "utf8", timeout: timeoutMs },
    );
    if (sender.status !== 0) return false;
    return await finished;
  } finally {
    if (receiver.exitCode === null && receiver.signalCode === null) receiver.kill("SIGKILL");
  }
}

/** `ping -c count` from inside `netns`; true when any reply came back. */
export function ping(netns: NetnsRef, address: string, count = 2): boolean {
  const result = spawnSync(
    "nsenter",
    [`--net=${resolveNetns(netns).path}`, "ping", "-n", "-q", "-c", String(count), "-i", "0.2", "-W", "1", address],
    { encoding: "utf8", timeout: 10_000 },
  );
  return result.status === 0;
}
