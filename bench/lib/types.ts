// The contract every benchmark file follows, so that a new one is one more file
// plus one line in bench/main.ts.

export interface BenchContext {
  /** Repository root. */
  root: string;
  /** dist/bin: the compiled executable and its plugin links. */
  distBin: string;
  /** Where the Go reference plugins are (Debian: /usr/lib/cni). */
  goPluginDir: string;
  /** Timed runs per variant (after warm-up). */
  runs: number;
  warmup: number;
}

/** One measured thing, e.g. "cnikit (compiled)". */
export interface VariantResult {
  label: string;
  samplesMs: number[];
  /** The Go reference plugin's row: ratios of the other rows are against it. */
  baseline?: boolean;
  /** Rows are compared with the baseline of their own group (e.g. "ADD" vs "DEL"). */
  group?: string;
  note?: string;
}

export interface BenchSection {
  title: string;
  /** What is measured and how, in a sentence or two; goes above the table. */
  description: string;
  variants: VariantResult[];
  notes?: string[];
}

export interface Benchmark {
  /** File-name id, used to pick benchmarks from the command line. */
  id: string;
  run(context: BenchContext): BenchSection | Promise<BenchSection>;
}
