// JSON from a caller (stdin, peersFile, subnetFile) is parsed only below a nesting
// bound, and values are shown in messages only through a length budget. Both walks
// that recurse over user JSON (ajv's validators, JSON.stringify in an error message)
// overflow the stack somewhere past 10,000 levels, which surfaced as code 999; a
// bound checked on the text, before anything recurses, turns that into a clear error.

/** Deeper than any CNI config needs (a prevResult inside a conflist is about 6). */
export const MAX_JSON_DEPTH = 128;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The offset where `text` first nests deeper than `limit`, or -1. Strings are skipped, so brackets in values do not count. */
export function depthExceededAt(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limit) return i;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return -1;
}

/** JSON.parse with the nesting bound; throws a SyntaxError naming the limit and the offset. */
export function parseJsonBounded(text: string, limit = MAX_JSON_DEPTH): unknown {
  const at = depthExceededAt(text, limit);
  if (at >= 0) throw new SyntaxError(`nested deeper than ${limit} levels (at offset ${at})`);
  return JSON.parse(text);
}

/**
 * A JSON rendering of `value` for a message, at most `maxChars` long ("..." when cut).
 * It stops writing once the budget is spent, so the recursion is as deep as the
 * budget at most, whatever the value.
 */
export function showJson(value: unknown, maxChars = 80): string {
  const out: string[] = [];
  let length = 0;
  const emit = (piece: string): boolean => {
    out.push(piece);
    length += piece.length;
    return length <= maxChars;
  };
  const write = (item: unknown): boolean => {
    if (Array.isArray(item)) {
      if (!emit("[")) return false;
      for (let i = 0; i < item.length; i++) if ((i > 0 && !emit(",")) || !write(item[i])) return false;
      return emit("]");
    }
    if (typeof item === "object" && item !== null) {
      if (!emit("{")) return false;
      let first = true;
      for (const [key, entry] of Object.entries(item)) {
        if ((!first && !emit(",")) || !emit(`${JSON.stringify(key)}:`) || !write(entry)) return false;
        first = false;
      }
      return emit("}");
    }
    return emit(item === undefined ? "null" : (JSON.stringify(item) ?? String(item)));
  };
  write(value);
  const text = out.join("");
  return text.length > maxChars ? `${text.slice(0, maxChars - 3)}...` : text;
}
