// Turns the errors of an ajv standalone validator into one CNI error (code 7) that
// names the field as a JS-like path (`ipam.ranges[0][0].subnet`) and the value found.
import { CniError, ErrorCode } from "./errors";
import { showJson } from "./json-bounds";
import type { SchemaError } from "./validation-types";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function decodePointerSegment(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

function pointerSegments(instancePath: string): string[] {
  if (instancePath === "") return [];
  return instancePath.split("/").slice(1).map(decodePointerSegment);
}

/** Joins path segments the way one would write them in JavaScript: a.b[0]["odd-key"]. */
export function fieldPath(segments: readonly string[]): string {
  let out = "";
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** `/ipam/ranges/0/0/subnet` -> `ipam.ranges[0][0].subnet`. */
export function instancePathToField(instancePath: string): string {
  return fieldPath(pointerSegments(instancePath));
}

function valueAt(data: unknown, segments: readonly string[]): unknown {
  let current = data;
  for (const segment of segments) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  return showJson(value, 80);
}

/** One readable sentence for one ajv error: field, what was wrong, the value found. */
export function describeSchemaError(error: SchemaError, data: unknown): string {
  const segments = pointerSegments(error.instancePath);
  const params = error.params;
  if (error.keyword === "required" && typeof params.missingProperty === "string") {
    return `${fieldPath([...segments, params.missingProperty])}: is required but missing`;
  }
  if (error.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
    const field = [...segments, params.additionalProperty];
    return `${fieldPath(field)}: unknown field (value ${show(valueAt(data, field))})`;
  }
  const field = fieldPath(segments) || "(config)";
  const value = show(valueAt(data, segments));
  if (error.keyword === "enum" && Array.isArray(params.allowedValues)) {
    return `${field}: ${value} is not one of ${params.allowedValues.map((v) => showJson(v)).join(", ")}`;
  }
  return `${field}: ${error.message ?? error.keyword} (got ${value})`;
}

/** The code-7 error for a config that failed its schema: the first problem in msg, all of them in details when there are several. */
export function schemaValidationError(errors: readonly SchemaError[] | null | undefined, data: unknown): CniError {
  const sentences = (errors ?? []).map((error) => describeSchemaError(error, data));
  const first = sentences[0] ?? "does not match the schema";
  const details = sentences.length > 1 ? sentences.join("; ") : "";
  return new CniError(ErrorCode.InvalidNetworkConfig, `invalid network config: ${first}`, details);
}
