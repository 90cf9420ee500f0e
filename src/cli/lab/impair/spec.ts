// What one link's impairment is, parsed from the topology file or from `lab netem set`
// options, in tc's words: "20ms", "10%", "10mbit". Errors name the field.
import { CliError } from "../../errors";

export interface LinkImpairment {
  delayMs?: number;
  /** Each packet's delay is drawn uniformly from delay ± jitter (netem's default). */
  jitterMs?: number;
  lossPercent?: number;
  rateBitsPerSecond?: number;
  corruptPercent?: number;
  duplicatePercent?: number;
  /** Share of packets sent at once, overtaking the delayed ones. */
  reorderPercent?: number;
  mtu?: number;
}

/** The keys of a topology `impairments:` entry, and of `lab netem set`'s options. */
export const IMPAIRMENT_KEYS = ["delay", "jitter", "loss", "rate", "corrupt", "duplicate", "reorder", "mtu"] as const;
export type ImpairmentKey = (typeof IMPAIRMENT_KEYS)[number];

const MAX_DELAY_MS = 60_000;

function fail(field: string, message: string): never {
  throw new CliError(`${field}: ${message}`);
}

/** "20ms", "1.5s", "500us", or a number of milliseconds. */
export function parseDuration(value: unknown, field: string): number {
  const match =
    typeof value === "number"
      ? [String(value), String(value), "ms"]
      : typeof value === "string"
        ? /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)?\s*$/.exec(value)
        : null;
  if (!match) fail(field, `must be a time like 20ms, 1.5s or 500us, got ${JSON.stringify(value)}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[(match[2] ?? "ms") as "us" | "ms" | "s"];
  const ms = Number(match[1]) * scale;
  if (!(ms >= 0 && ms <= MAX_DELAY_MS))
    fail(field, `must be from 0 to ${MAX_DELAY_MS / 1000}s, got ${JSON.stringify(value)}`);
  return ms;
}

/** "10%", "0.5%", "10" or a number, 0 to 100. */
export function parsePercent(value: unknown, field: string): number {
  const text =
    typeof value === "number" ? String(value) : typeof value === "string" ? value.trim().replace(/%$/, "") : "";
  const percent = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(percent >= 0 && percent <= 100))
    fail(field, `must be a percentage from 0 to 100 like 10% or 0.5%, got ${JSON.stringify(value)}`);
  return percent;
}

// tc's rate units: "bit" counts bits, "bps" counts bytes per second.
const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** "10mbit", "512kbit", "1gbit", "100kbps" (bytes): bits per second. A unit is required. */
export function parseRate(value: unknown, field: string): number {
  const match = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value) : null;
  const unit = RATE_UNITS[(match?.[2] ?? "").toLowerCase()];
  if (!match || unit === undefined)
    fail(
      field,
      `must be a rate with a unit like 10mbit, 512kbit or 1gbit (bps = bytes/s), got ${JSON.stringify(value)}`,
    );
  const bits = Number(match[1]) * unit;
  if (!(bits >= 8_000 && bits <= 1e13)) fail(field, `must be from 8kbit to 10tbit, got ${JSON.stringify(value)}`);
  return bits;
}

export function parseMtu(value: unknown, field: string): number {
  const mtu = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < 68 || mtu > 65_535)
    fail(field, `must be an integer from 68 to 65535, got ${JSON.stringify(value)}`);
  return mtu;
}

/**
 * One impairment from a mapping of IMPAIRMENT_KEYS to values (unknown keys refused).
 * `fieldOf` names a key in errors: `topology impairments.h1.delay`, `--delay`.
 */
export function parseImpairment(
  raw: Record<string, unknown>,
  field: string,
  fieldOf: (key: string) => string = (key) => `${field}.${key}`,
): LinkImpairment {
  const unknown = Object.keys(raw).filter(
    (key) => raw[key] !== undefined && !IMPAIRMENT_KEYS.includes(key as ImpairmentKey),
  );
  if (unknown.length > 0)
    fail(fieldOf(unknown[0] as string), `unknown impairment (known: ${IMPAIRMENT_KEYS.join(", ")})`);
  const impairment: LinkImpairment = {};
  if (raw.delay !== undefined) impairment.delayMs = parseDuration(raw.delay, fieldOf("delay"));
  if (raw.jitter !== undefined) impairment.jitterMs = parseDuration(raw.jitter, fieldOf("jitter"));
  if (raw.loss !== undefined) impairment.lossPercent = parsePercent(raw.loss, fieldOf("loss"));
  if (raw.rate !== undefined) impairment.rateBitsPerSecond = parseRate(raw.rate, fieldOf("rate"));
  if (raw.corrupt !== undefined) impairment.corruptPercent = parsePercent(raw.corrupt, fieldOf("corrupt"));
  if (raw.duplicate !== undefined) impairment.duplicatePercent = parsePercent(raw.duplicate, fieldOf("duplicate"));
  if (raw.reorder !== undefined) impairment.reorderPercent = parsePercent(raw.reorder, fieldOf("reorder"));
  if (raw.mtu !== undefined) impairment.mtu = parseMtu(raw.mtu, fieldOf("mtu"));
  // "loss 0%" is no loss: a zero is left out rather than given a mechanism that does nothing.
  for (const key of Object.keys(impairment) as (keyof LinkImpairment)[])
    if (impairment[key] === 0) delete impairment[key];
  // As netem: jitter and reordering are variations of a delay.
  if (impairment.jitterMs && !impairment.delayMs) fail(fieldOf("jitter"), "needs a delay");
  if (impairment.reorderPercent && !impairment.delayMs)
    fail(fieldOf("reorder"), "needs a delay (reordered packets are the ones sent without it)");
  return impairment;
}

export function isEmptyImpairment(impairment: LinkImpairment): boolean {
  return Object.values(impairment).every((value) => value === undefined);
}

const trim = (value: number): string => String(Number(value.toFixed(3)));

export function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : ms < 1 && ms > 0 ? `${trim(ms * 1000)}us` : `${trim(ms)}ms`;
}

export function formatRate(bits: number): string {
  for (const [unit, scale] of [
    ["gbit", 1e9],
    ["mbit", 1e6],
    ["kbit", 1e3],
  ] as const)
    if (bits >= scale) return `${trim(bits / scale)}${unit}`;
  return `${trim(bits)}bit`;
}

/** Each impairment as [key, value in tc's words], in a fixed order. */
export function impairmentEntries(impairment: LinkImpairment): [ImpairmentKey, string][] {
  const entries: [ImpairmentKey, string | undefined][] = [
    ["delay", impairment.delayMs === undefined ? undefined : formatDuration(impairment.delayMs)],
    ["jitter", impairment.jitterMs === undefined ? undefined : formatDuration(impairment.jitterMs)],
    ["loss", impairment.lossPercent === undefined ? undefined : `${trim(impairment.lossPercent)}%`],
    ["rate", impairment.rateBitsPerSecond === undefined ? undefined : formatRate(impairment.rateBitsPerSecond)],
    ["corrupt", impairment.corruptPercent === undefined ? undefined : `${trim(impairment.corruptPercent)}%`],
    ["duplicate", impairment.duplicatePercent === undefined ? undefined : `${trim(impairment.duplicatePercent)}%`],
    ["reorder", impairment.reorderPercent === undefined ? undefined : `${trim(impairment.reorderPercent)}%`],
    ["mtu", impairment.mtu === undefined ? undefined : String(impairment.mtu)],
  ];
  return entries.filter((entry): entry is [ImpairmentKey, string] => entry[1] !== undefined);
}

export function formatImpairment(impairment: LinkImpairment): string {
  return (
    impairmentEntries(impairment)
      .map(([key, value]) => `${key} ${value}`)
      .join(" ") || "none"
  );
}
