// Times child processes. Variants are interleaved run by run, so that drift in the
// machine's load hits all of them alike; every run is checked, because a command
// that fails fast would otherwise look like a fast command.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import type { VariantResult } from "./types";

export interface ProcessVariant {
  label: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  input?: string;
  baseline?: boolean;
  group?: string;
  note?: string;
  /** Untimed work before each run (e.g. make a container netns). */
  before?: (run: number) => void;
  /** Untimed work after each run (e.g. DEL what ADD made). */
  after?: (run: number) => void;
  /** Throws when a run's output is not the expected one; default: exit status 0. */
  check?: (result: SpawnSyncReturns<string>) => void;
}

export interface TimingPlan {
  runs: number;
  warmup: number;
}

export function expectExitZero(result: SpawnSyncReturns<string>): void {
  if (result.status !== 0) {
    throw new Error(
      `exit ${result.status ?? result.signal}: ${result.stdout.slice(0, 300)} ${result.stderr.slice(0, 300)}`,
    );
  }
}

function runOnce(variant: ProcessVariant, run: number): number {
  variant.before?.(run);
  const [file, ...args] = variant.argv;
  if (!file) throw new Error(`${variant.label}: empty argv`);
  const start = process.hrtime.bigint();
  const result = spawnSync(file, args, { env: variant.env, input: variant.input ?? "", encoding: "utf8" });
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  try {
    (variant.check ?? expectExitZero)(result);
  } catch (err) {
    // Still undo what the run did, but report the run's failure, not the undo's.
    try {
      variant.after?.(run);
    } catch {
      // the run already failed; its error is the one that explains
    }
    throw new Error(`benchmark variant "${variant.label}" failed`, { cause: err });
  }
  variant.after?.(run);
  return elapsedMs;
}

/**
 * Runs a variant once, untimed; returns why it failed, or undefined when it works.
 * Lets a benchmark leave out (and say so) a variant whose feature is not there yet.
 */
export function probeVariant(variant: ProcessVariant): string | undefined {
  try {
    runOnce(variant, -1);
    return undefined;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    return cause.replace(/\s+/g, " ").slice(0, 200);
  }
}

export function timeProcesses(variants: ProcessVariant[], plan: TimingPlan): VariantResult[] {
  const samples = variants.map(() => [] as number[]);
  for (let run = 0; run < plan.warmup + plan.runs; run++) {
    variants.forEach((variant, index) => {
      const elapsedMs = runOnce(variant, run);
      if (run >= plan.warmup) samples[index]?.push(elapsedMs);
    });
  }
  return variants.map((variant, index) => ({
    label: variant.label,
    samplesMs: samples[index] ?? [],
    baseline: variant.baseline,
    group: variant.group,
    note: variant.note,
  }));
}

/** Times an in-process step; `before`/`after` are untimed. */
export function timeInProcess(config: {
  label: string;
  plan: TimingPlan;
  step: (run: number) => void;
  before?: (run: number) => void;
  after?: (run: number) => void;
  baseline?: boolean;
  note?: string;
}): VariantResult {
  const samplesMs: number[] = [];
  for (let run = 0; run < config.plan.warmup + config.plan.runs; run++) {
    config.before?.(run);
    const start = process.hrtime.bigint();
    try {
      config.step(run);
    } finally {
      const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (run >= config.plan.warmup) samplesMs.push(elapsedMs);
      config.after?.(run);
    }
  }
  return { label: config.label, samplesMs, baseline: config.baseline, note: config.note };
}

/** The environment for `node` runs: NODE_EXTRA_CA_CERTS costs ~40 ms per start and a plugin never needs it. */
export function nodeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...extra };
  return env;
}
