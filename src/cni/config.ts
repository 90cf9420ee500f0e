// Reading the network config a plugin gets on stdin: JSON (code 6), the version it
// speaks (missing means 0.1.0, as in libcni), the plugin's schema (code 7 naming the
// field and value), and a prevResult of any version read into the 1.1.0 shape.
import { CniError, ErrorCode } from "./errors";
import { parseJsonBounded, showJson } from "./json-bounds";
import { schemaValidationError } from "./schema-errors";
import { parseResult } from "./result-convert";
import type { NetConf } from "./types";
import type { ValidateFunction } from "./validation-types";
import { configVersion } from "./versions";

export { describeSchemaError, instancePathToField, schemaValidationError } from "./schema-errors";

/** Parses stdin as a JSON object; code 6 when it is not one. */
export function decodeJsonObject(stdin: Buffer | string, what = "network config"): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(typeof stdin === "string" ? stdin : stdin.toString("utf8"));
  } catch (err) {
    throw new CniError(ErrorCode.DecodeFailure, `error decoding ${what}: ${(err as Error).message}`, "", {
      cause: err,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CniError(
      ErrorCode.DecodeFailure,
      `error decoding ${what}: expected a JSON object`,
      `got ${showJson(parsed)}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/**
 * The plugin's view of its stdin: checked JSON, `cniVersion` resolved (from
 * `cniVersions` or defaulted to 0.1.0), validated by `validate` when given, and
 * `prevResult` converted to the 1.1.0 shape whatever version it came in.
 */
export function parseNetConf<T extends NetConf = NetConf>(stdin: Buffer | string, validate?: ValidateFunction): T {
  return checkNetConf<T>(decodeNetConf(stdin), validate);
}

// The skel decodes stdin to check the name and version; the plugin's loader gets that
// object instead of parsing the same bytes again (one parse per call, in-process IPAM's
// included: it gets the same bytes and has its own skel). Keyed by the Buffer itself, so
// only those exact bytes find it, and handed out once: the loader checks it in place.
const decodedBySkel = new WeakMap<Buffer, Record<string, unknown>>();

/** Called by the skel with its decode of `stdin`, which it does not read again. */
export function rememberDecoded(stdin: Buffer, config: Record<string, unknown>): void {
  decodedBySkel.set(stdin, config);
}

/** `stdin` decoded (decodeJsonObject): the skel's object the first time it is asked for, else a fresh parse. */
export function decodeNetConf(stdin: Buffer | string): Record<string, unknown> {
  if (typeof stdin !== "string") {
    const decoded = decodedBySkel.get(stdin);
    if (decoded) {
      decodedBySkel.delete(stdin);
      return decoded;
    }
  }
  return decodeJsonObject(stdin);
}

/** parseNetConf for a config already decoded (decodeJsonObject); resolves `cniVersion` and `prevResult` in place. */
export function checkNetConf<T extends NetConf = NetConf>(
  config: Record<string, unknown>,
  validate?: ValidateFunction,
): T {
  config.cniVersion = configVersion(config);
  if (validate && !validate(config)) throw schemaValidationError(validate.errors, config);
  if (config.prevResult !== undefined && config.prevResult !== null) {
    try {
      config.prevResult = parseResult(config.prevResult);
    } catch (err) {
      if (err instanceof CniError)
        throw new CniError(err.code, `prevResult: ${err.message}`, err.details, { cause: err });
      throw err;
    }
  }
  return config as T;
}
