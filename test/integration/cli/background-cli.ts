// The compiled `cnikit` started in the background (capture, lab events): wait for a line
// it prints, stop it with a signal by its pid, collect what it printed and its status.
import { type ChildProcess, spawn } from "node:child_process";
import { cnikitBin } from "./run-cli";

export interface BackgroundRun {
  child: ChildProcess;
  stdout(): Buffer;
  stderr(): string;
  /** Resolves once `pattern` shows in stdout or stderr; rejects after timeoutMs or if the process ends first. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (unless it ended already) and resolves with its exit status. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit status when it ends by itself. */
  exited: Promise<number | null>;
}

export function startCnikit(args: readonly string[], env: Record<string, string> = {}): BackgroundRun {
  const child = spawn(cnikitBin, [...args], {
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let err = "";
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    out.push(chunk);
    notify();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
    notify();
  });
  let ended = false;
  const exited = new Promise<number | null>((resolve) => {
    child.on("close", (status) => {
      ended = true;
      notify();
      resolve(status);
    });
  });
  const stdout = (): Buffer => Buffer.concat(out);
  return {
    child,
    stdout,
    stderr: () => err,
    exited,
    waitFor(stream, pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const text = stream === "stdout" ? stdout().toString("utf8") : err;
          if (pattern.test(text)) done(resolve);
          else if (ended)
            done(() => reject(new Error(`cnikit ${args.join(" ")} ended before printing ${pattern}; stderr: ${err}`)));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `cnikit ${args.join(" ")}: no ${pattern} on ${stream} within ${timeoutMs} ms; stderr: ${err}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGINT") {
      if (!ended && child.pid !== undefined) process.kill(child.pid, signal);
      return exited;
    },
  };
}
