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
  return checkNetConf<T>(decodeJsonObject(stdin), validate);
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
