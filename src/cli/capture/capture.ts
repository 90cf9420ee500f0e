// `cnikit capture TARGET [-w FILE|-] [--count N] [--filter EXPR]`: tcpdump on one
// interface of a lab node (or any namespace). Its pcap stream comes through us: copied
// as it arrives to the file or to our stdout (`-w - | wireshark -k -i -`), or decoded
// into one line per packet, VXLAN's inner frames included.
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import { CliError } from "../errors";
import { writeProgress, writeStdout } from "../output";
import { decodeEthernet, decodeRawIp, type DecodeOptions } from "./frames";
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, type PcapRecord, PcapStreamReader } from "./pcap";
import { describeFrame, describeNetwork, formatTime } from "./summary";
import { type CaptureTarget, resolveCaptureTarget } from "./target";
import { type TcpdumpRun, type TcpdumpStats, startTcpdump } from "./tcpdump";

export interface CaptureCliOptions {
  write?: string;
  count?: string;
  filter?: string;
  lab?: string;
  vxlanPort?: string;
  timeout?: string;
  json?: boolean;
}

/** What becomes of the stream: raw bytes to a descriptor, or decoded records as lines. */
type Sink = { kind: "raw"; fd: number } | { kind: "summary"; decode: DecodeOptions; json: boolean };

/** All of `bytes` to fd, waiting out EAGAIN (a non-blocking pipe that is full: the reader is slow). */
function writeBytesSync(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length; ) {
    try {
      offset += fs.writeSync(fd, bytes, offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function positiveInteger(raw: string | undefined, name: string, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new CliError(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

/** One packet as a line of text, or as a JSON object with --json. */
function renderRecord(record: PcapRecord, linkType: number, decode: DecodeOptions, json: boolean): string {
  const decoded =
    linkType === LINKTYPE_ETHERNET
      ? decodeEthernet(record.data, decode)
      : linkType === LINKTYPE_RAW
        ? decodeRawIp(record.data, decode)
        : undefined;
  if (json)
    return JSON.stringify({
      time: record.timestamp,
      length: record.originalLength,
      ...(linkType === LINKTYPE_ETHERNET ? { ethernet: decoded } : { linkType, network: decoded }),
    });
  const text =
    decoded === undefined
      ? `linktype ${linkType}`
      : "etherType" in decoded
        ? describeFrame(decoded)
        : describeNetwork(decoded);
  return `${formatTime(record.timestamp)} ${text}`;
}

/**
 * Feeds tcpdump's stream to the sink as it comes (records are parsed in every mode, which
 * checks the stream). When our reader goes away (EPIPE: `| head`), tcpdump is stopped and
 * that is a normal end.
 */
function consume(stream: Readable, run: TcpdumpRun, sink: Sink): Promise<void> {
  const reader = new PcapStreamReader();
  return new Promise((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => {
      try {
        const records = reader.push(chunk);
        if (sink.kind === "raw") writeBytesSync(sink.fd, chunk);
        else
          for (const record of records)
            writeStdout(renderRecord(record, reader.header?.linkType ?? LINKTYPE_ETHERNET, sink.decode, sink.json));
      } catch (err) {
        stream.destroy();
        run.child.kill("SIGINT");
        if ((err as NodeJS.ErrnoException).code === "EPIPE") resolve();
        else reject(err);
      }
    });
    stream.on("end", () => resolve());
    stream.on("error", reject);
  });
}

function openSink(options: CaptureCliOptions, target: CaptureTarget): Sink {
  const { write } = options;
  if (write === undefined)
    return { kind: "summary", decode: { vxlanPorts: new Set(target.vxlanPorts) }, json: options.json === true };
  if (write === "-") {
    if (process.stdout.isTTY)
      throw new CliError("capture -w -: stdout is a terminal; pipe it (| wireshark -k -i -) or give a file");
    return { kind: "raw", fd: 1 };
  }
  try {
    return { kind: "raw", fd: fs.openSync(write, "w", 0o644) };
  } catch (err) {
    throw new CliError(`capture -w ${write}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

function report(target: CaptureTarget, stats: TcpdumpStats): void {
  const dropped = stats.droppedByKernel ? `, ${stats.droppedByKernel} dropped by the kernel` : "";
  writeProgress(`capture: ${stats.captured ?? "?"} packets on ${target.label}:${target.ifName}${dropped}`);
}

export async function captureCommand(targetArg: string, options: CaptureCliOptions): Promise<void> {
  const count = positiveInteger(options.count, "--count", 1_000_000_000);
  const timeoutSeconds = positiveInteger(options.timeout, "--timeout", 86_400);
  const vxlanPort = positiveInteger(options.vxlanPort, "--vxlan-port", 65_535);
  const target = resolveCaptureTarget(targetArg, {
    ...(options.lab === undefined ? {} : { lab: options.lab }),
    ...(vxlanPort === undefined ? {} : { vxlanPort }),
  });
  const sink = openSink(options, target);
  // stayRoot: Debian's tcpdump drops to its own user, which clears the parent-death
  // signal; a capture killed with SIGKILL would then leave it holding the namespace.
  const run = startTcpdump({
    netnsPath: target.netnsPath,
    ifName: target.ifName,
    stayRoot: true,
    ...(count === undefined ? {} : { count }),
    ...(options.filter ? { filter: options.filter } : {}),
  });
  // Ctrl-C reaches tcpdump too (same process group); a signal sent to us alone is passed on.
  // Either way tcpdump finishes its output, and we end after it.
  const stop = (): void => {
    run.child.kill("SIGINT");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const timer = timeoutSeconds === undefined ? undefined : setTimeout(stop, timeoutSeconds * 1000);
  try {
    void run.listening.then(
      (ready) =>
        ready &&
        writeProgress(
          `capture: listening on ${target.label}:${target.ifName}${options.filter ? ` (${options.filter})` : ""}`,
        ),
    );
    const consumed = run.child.stdout ? consume(run.child.stdout, run, sink) : Promise.resolve();
    const [stats] = await Promise.all([run.exited, consumed]);
    report(target, stats);
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    if (sink.kind === "raw" && sink.fd !== 1) fs.closeSync(sink.fd);
  }
}
