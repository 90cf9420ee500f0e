// What a plugin call sees of its caller besides stdin: the environment and stderr. A
// standalone process serves one call, so that is process.env and fd 2. A daemon worker
// serves many, one at a time, and sets the context for each (src/daemon/worker.ts), so
// nothing of the daemon's own environment, and nothing of an earlier request, is read.
import type { Env } from "./env";
import { writeAllSync } from "./process-io";

export interface RequestContext {
  env: Env;
  writeStderr(text: string): void;
  /** Told of every lock fd a call opens and closes, so a worker replaced mid-call can be cleaned up after. */
  trackFd?(fd: number, open: boolean): void;
  /**
   * Takes work that may wait until the call's answer is out (a daemon runs it after
   * answering); without it, afterAnswer runs the work at once, as a standalone call must.
   */
  afterAnswer?(work: () => void): void;
}

let current: RequestContext | undefined;

export function requestContext(): RequestContext {
  current ??= { env: process.env, writeStderr: (text) => writeAllSync(2, text) };
  return current;
}

/** The variable as the current call's caller set it. */
export function requestEnv(name: string): string | undefined {
  return requestContext().env[name];
}

/** Runs `body` with `context` as the current call's; the previous one is restored after. */
export async function withRequestContext<T>(context: RequestContext, body: () => Promise<T>): Promise<T> {
  const previous = current;
  current = context;
  try {
    return await body();
  } finally {
    current = previous;
  }
}

export function trackFd(fd: number, open: boolean): void {
  requestContext().trackFd?.(fd, open);
}

/** `work` after the answer when the caller can (a daemon), else now. */
export function afterAnswer(work: () => void): void {
  const defer = requestContext().afterAnswer;
  if (defer) defer(work);
  else work();
}
