// Building HTML and SVG text safely: every value from the lab (names, addresses,
// probe explanations) goes through `escapeHtml`, attributes through `attributes`.

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

/** ` name="value"` for each defined value, escaped; `false`/`undefined` leave the attribute out. */
export function attributes(values: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined && value !== false)
    .map(([name, value]) => (value === true ? ` ${name}` : ` ${name}="${escapeHtml(value as string | number)}"`))
    .join("");
}

/** An element with escaped attributes; `inner` is markup already (escape text before). */
export function element(tag: string, attrs: Record<string, string | number | boolean | undefined>, inner = ""): string {
  return `<${tag}${attributes(attrs)}>${inner}</${tag}>`;
}

/**
 * Monospace text cut to fit `widthPx` at `charPx` per character. The middle goes, so a line
 * keeps what it is (`netns `) and what tells it from its neighbours (`...-h1-c2`).
 */
export function fitText(text: string, widthPx: number, charPx: number): string {
  const room = Math.max(2, Math.floor(widthPx / charPx));
  if (text.length <= room) return text;
  const head = Math.ceil((room - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (room - 1 - head))}`;
}

/** `2024-01-01 00:01:00 UTC` from an ISO time: the same on every machine that opens the page. */
export function readableTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}
