// The probe agents, each run inside one namespace by `cnikit netns exec` (so no thread
// ever switches namespace with async work in flight). `echo` acks every probe it gets;
// `send` runs a plan against echo agents and prints what crossed.
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import { familyOfAddress } from "../../ip/cidr";
import { writeJson, writeStdout } from "../output";
import {
  type ProbeTarget,
  type RttStats,
  type SendPlan,
  type SizeFindings,
  type TargetResult,
  MAX_PAYLOAD,
  SMALL_PAYLOAD,
  ackFor,
  decodeAck,
  encodeProbe,
} from "./protocol";

/** Binds `port` (0: any) on every address of the namespace, acks probes until stdin closes. */
export function runEchoAgent(options: { port: number; family: 4 | 6 }): void {
  const socket = dgram.createSocket({ type: options.family === 6 ? "udp6" : "udp4" });
  socket.on("message", (datagram, peer) => {
    const ack = ackFor(datagram);
    if (ack) socket.send(ack, peer.port, peer.address);
  });
  socket.on("error", (err) => {
    process.stderr.write(`cnikit probe-agent: ${err.message}\n`);
    process.exit(1);
  });
  socket.bind(options.port, () => writeStdout(`ready ${socket.address().port}`));
  // The parent holds our stdin: when it closes (or the parent dies) we are done.
  process.stdin.on("data", () => undefined);
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
}

class Prober {
  private readonly pending = new Map<number, () => void>();
  private seq = 0;

  constructor(
    private readonly socket: dgram.Socket,
    private readonly token: Buffer,
  ) {
    socket.on("message", (datagram) => {
      const ack = decodeAck(datagram, token);
      if (ack) this.pending.get(ack.seq)?.();
    });
  }

  /** Sends one probe of `size` bytes; resolves with the round trip in ms, or undefined on timeout. */
  async probe(target: ProbeTarget, size: number): Promise<number | undefined> {
    const seq = ++this.seq;
    const started = process.hrtime.bigint();
    return new Promise<number | undefined>((resolve, reject) => {
      const timer = setTimeout(() => finish(undefined), target.timeoutMs);
      const finish = (value: number | undefined): void => {
        clearTimeout(timer);
        this.pending.delete(seq);
        resolve(value);
      };
      this.pending.set(seq, () => finish(Number(process.hrtime.bigint() - started) / 1e6));
      this.socket.send(encodeProbe(this.token, seq, size), target.port, target.address, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(seq);
        // Too big to send at all is an answer about size, not about reachability.
        if ((err as NodeJS.ErrnoException).code === "EMSGSIZE") resolve(undefined);
        else reject(err);
      });
    });
  }

  /** A size crossed if any of `attempts` probes of it was acked (one may die while ARP resolves). */
  async crosses(target: ProbeTarget, size: number, attempts = 2): Promise<boolean> {
    for (let attempt = 0; attempt < attempts; attempt++)
      if ((await this.probe(target, size)) !== undefined) return true;
    return false;
  }
}

function rttStats(samples: number[]): RttStats | undefined {
  if (samples.length === 0) return undefined;
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    minMs: round(Math.min(...samples)),
    avgMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    maxMs: round(Math.max(...samples)),
  };
}

/** Binary search for the largest payload up to the one-packet limit, then one fragmented datagram. */
async function findSizes(prober: Prober, target: ProbeTarget): Promise<SizeFindings> {
  const limit = target.mtuPayload;
  let largest = SMALL_PAYLOAD;
  if (await prober.crosses(target, limit)) {
    largest = limit;
  } else {
    let tooBig = limit;
    while (tooBig - largest > 1) {
      const middle = Math.floor((largest + tooBig) / 2);
      if (await prober.crosses(target, middle)) largest = middle;
      else tooBig = middle;
    }
  }
  const fragmentedSize = Math.min(limit * 2, MAX_PAYLOAD[familyOfAddress(target.address)]);
  return {
    limit,
    largest,
    fragmented: { size: fragmentedSize, crossed: await prober.crosses(target, fragmentedSize) },
  };
}

async function probeTarget(prober: Prober, target: ProbeTarget): Promise<TargetResult> {
  const result: TargetResult = { address: target.address, port: target.port, sent: 0, received: 0 };
  const samples: number[] = [];
  try {
    for (let index = 0; index < target.rttCount; index++) {
      result.sent++;
      const elapsed = await prober.probe(target, SMALL_PAYLOAD);
      if (elapsed !== undefined) samples.push(elapsed);
    }
    result.received = samples.length;
    const rtt = rttStats(samples);
    if (rtt) result.rtt = rtt;
    if (rtt && target.mtuPayload > SMALL_PAYLOAD)
      result.sizes = await findSizes(prober, { ...target, timeoutMs: Math.max(150, Math.ceil(rtt.maxMs * 20)) });
  } catch (err) {
    result.error = (err as Error).message;
  }
  return result;
}

/** Reads a SendPlan (JSON) from stdin, probes every target in order, prints the results as JSON. */
export async function runSendAgent(): Promise<void> {
  const plan = JSON.parse(fs.readFileSync(0, "utf8")) as SendPlan;
  const token = Buffer.from(plan.token, "hex");
  const sockets = new Map<4 | 6, dgram.Socket>();
  const probers = new Map<4 | 6, Prober>();
  const proberFor = (family: 4 | 6): Prober => {
    let prober = probers.get(family);
    if (!prober) {
      const socket = dgram.createSocket({ type: family === 6 ? "udp6" : "udp4" });
      sockets.set(family, socket);
      prober = new Prober(socket, token);
      probers.set(family, prober);
    }
    return prober;
  };
  const results: TargetResult[] = [];
  for (const target of plan.targets)
    results.push(await probeTarget(proberFor(familyOfAddress(target.address)), target));
  for (const socket of sockets.values()) socket.close();
  writeJson(results);
}
