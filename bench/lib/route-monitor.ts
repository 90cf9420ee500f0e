// `ip monitor route` inside a namespace, every line stamped with the harness's clock
// when it arrives: when a route appeared, to the millisecond, without polling `ip`
// (which would cost CPU the agents under measurement need, and quantise the result).
import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

export interface StampedLine {
  atMs: number;
  text: string;
}

export class RouteMonitor {
  readonly lines: StampedLine[] = [];
  private readonly child: ChildProcess;
  private partial = "";

  constructor(netnsName: string) {
    this.child = spawn("ip", ["-n", netnsName, "monitor", "route"], { stdio: ["ignore", "pipe", "ignore"] });
    this.child.stdout?.on("data", (chunk: Buffer) => {
      const atMs = performance.now();
      const parts = (this.partial + chunk.toString()).split("\n");
      this.partial = parts.pop() ?? "";
      for (const text of parts) this.lines.push({ atMs, text });
    });
  }

  /** When a route to `dst` was added (not deleted) at or after `sinceMs`, or undefined. */
  addedAt(dst: string, sinceMs: number): number | undefined {
    return this.lines.find((line) => line.atMs >= sinceMs && line.text.startsWith(`${dst} `))?.atMs;
  }

  /** Drops the lines before `beforeMs`: a long benchmark does not keep them all. */
  forget(beforeMs: number): void {
    const keepFrom = this.lines.findIndex((line) => line.atMs >= beforeMs);
    this.lines.splice(0, keepFrom === -1 ? this.lines.length : keepFrom);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
  }
}
