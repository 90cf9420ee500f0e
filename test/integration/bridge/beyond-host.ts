// Namespaces beyond the host (an "outside" network reached over a veth with underlay
// addresses) and node-based endpoints that report what they saw: the source address
// of a datagram, the peer of a TCP connection. Used by the ipMasq and chaining tests.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import { type Netns, nsExec } from "../../../netns-fixtures";

export interface OutsideLink {
  /** The host namespace end, and its address (no prefix length). */
  host: Netns;
  hostAddress: string;
  /** The namespace beyond the host, and its address. */
  outside: Netns;
  outsideAddress: string;
}

function mustRun(netns: Netns, argv: string[]): void {
  const run = nsExec(netns, argv);
  if (run.status !== 0) throw new Error(`${argv.join(" ")} in ${netns.name}: ${run.stderr}`);
}

/**
 * A veth `up0` between host and outside, both ends in a /30 of 198.18.0.0/15. The outside
 * gets no route anywhere else, so it can only answer what comes from the host's address.
 */
export function linkOutside(link: OutsideLink): OutsideLink {
  mustRun(link.host, ["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up0", "netns", link.outside.name]);
  for (const [netns, address] of [
    [link.host, link.hostAddress],
    [link.outside, link.outsideAddress],
  ] as const) {
    mustRun(netns, ["ip", "addr", "add", `${address}/30`, "dev", "up0"]);
    mustRun(netns, ["ip", "link", "set", "up0", "up"]);
  }
  return link;
}

/** Node without the CA bundle variable that costs ~40 ms per start on these machines. */
function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** A node script running inside `netns`; it prints "ready" once listening, then one line of report. */
class Endpoint {
  private readonly child: ChildProcess;
  private output = "";
  private readonly closed: Promise<void>;

  constructor(netns: Netns, script: string, args: string[]) {
    this.child = spawn("nsenter", [`--net=${netns.path}`, process.execPath, "-e", script, ...args], {
      env: nodeEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.closed = new Promise((resolve) => {
      this.child.on("close", () => resolve());
      this.child.on("error", () => resolve());
    });
  }

  async ready(): Promise<boolean> {
    const deadline = Date.now() + 5_000;
    while (!this.output.includes("ready\n")) {
      if (this.child.exitCode !== null || Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** The report line (after "ready"), or undefined when the endpoint timed out. */
  async report(): Promise<string | undefined> {
    await this.closed;
    const line = this.output.split("\n").find((entry) => entry.startsWith("saw "));
    return line?.slice("saw ".length);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

// Prints the source address of the first datagram carrying the token.
const UDP_RECEIVER = `
const [port, token, timeoutMs] = process.argv.slice(1);
const sock = require("node:dgram").createSocket("udp4");
sock.on("message", (msg, rinfo) => { if (msg.toString() === token) { process.stdout.write("saw " + rinfo.address + "\\n"); process.exit(0); } });
sock.bind(Number(port), () => process.stdout.write("ready\\n"));
setTimeout(() => process.exit(3), Number(timeoutMs));
`;

// Several datagrams, so one dropped while ARP resolves does not lose the probe.
const UDP_SENDER = `
const [address, port, token] = process.argv.slice(1);
const sock = require("node:dgram").createSocket("udp4");
let sent = 0;
const next = () => sock.send(token, Number(port), address, () => (++sent < 5 ? setTimeout(next, 100) : sock.close()));
next();
`;

export interface SourceProbe {
  from: Netns;
  to: Netns;
  /** The receiver's address, configured in `to`. */
  address: string;
  port: number;
}

/** The source address a UDP datagram from `from` carries when it reaches `to`; undefined when none arrived. */
export async function udpSourceSeen(probe: SourceProbe): Promise<string | undefined> {
  const token = crypto.randomBytes(8).toString("hex");
  const receiver = new Endpoint(probe.to, UDP_RECEIVER, [String(probe.port), token, "3000"]);
  try {
    if (!(await receiver.ready())) throw new Error(`UDP receiver in ${probe.to.name} did not start`);
    spawnSync(
      "nsenter",
      [`--net=${probe.from.path}`, process.execPath, "-e", UDP_SENDER, probe.address, String(probe.port), token],
      { env: nodeEnv(), timeout: 5_000 },
    );
    return await receiver.report();
  } finally {
    receiver.stop();
  }
}

// Accepts one connection, answers with a greeting, prints the peer address.
const TCP_SERVER = `
const [port, greeting, timeoutMs] = process.argv.slice(1);
const server = require("node:net").createServer((conn) => {
  process.stdout.write("saw " + conn.remoteAddress + "\\n");
  conn.end(greeting, () => process.exit(0));
});
server.listen(Number(port), "0.0.0.0", () => process.stdout.write("ready\\n"));
setTimeout(() => process.exit(3), Number(timeoutMs));
`;

const TCP_CLIENT = `
const [address, port] = process.argv.slice(1);
let text = "";
const conn = require("node:net").connect({ host: address, port: Number(port), timeout: 3000 });
conn.on("data", (chunk) => (text += chunk));
conn.on("end", () => { process.stdout.write(text); });
conn.on("timeout", () => process.exit(4));
conn.on("error", (err) => { process.stderr.write(String(err)); process.exit(5); });
`;

export interface TcpProbe {
  /** Where the server listens (on every address). */
  server: Netns;
  serverPort: number;
  client: Netns;
  /** What the client connects to: the server, or a host port mapped to it. */
  address: string;
  port: number;
}

/** Connects once; whether the server's greeting came back (else why not) and the peer the server saw. */
export async function tcpExchange(
  probe: TcpProbe,
): Promise<{ answered: boolean; detail: string; peerSeen: string | undefined }> {
  const greeting = `hello-${crypto.randomBytes(4).toString("hex")}`;
  const server = new Endpoint(probe.server, TCP_SERVER, [String(probe.serverPort), greeting, "5000"]);
  try {
    if (!(await server.ready())) throw new Error(`TCP server in ${probe.server.name} did not start`);
    const client = spawnSync(
      "nsenter",
      [`--net=${probe.client.path}`, process.execPath, "-e", TCP_CLIENT, probe.address, String(probe.port)],
      {
        env: nodeEnv(),
        encoding: "utf8",
        timeout: 6_000,
      },
    );
    const answered = client.stdout === greeting;
    // A server nobody reached would otherwise wait out its own timeout.
    if (!answered) server.stop();
    return {
      answered,
      detail: `client exit ${String(client.status)}: ${client.stdout} ${client.stderr}`,
      peerSeen: await server.report(),
    };
  } finally {
    server.stop();
  }
}
