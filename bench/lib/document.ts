// BENCHMARKS.md as a header plus `## ` sections. A run of some benchmarks only (ids on
// the command line) replaces their sections and keeps every other one as it was, so
// one benchmark can be re-measured without re-running (or losing) the rest.

/** Splits a document into its header (before the first `## `) and its sections by title line. */
function splitSections(document: string): { header: string; sections: Map<string, string> } {
  const parts = document.split(/^(?=## )/m);
  const header = parts[0]?.startsWith("## ") ? "" : (parts.shift() ?? "");
  const sections = new Map<string, string>();
  for (const part of parts) sections.set(part.split("\n", 1)[0] ?? "", part.trimEnd());
  return { header, sections };
}

/**
 * `existing` with each of `rendered` (sections starting with their `## ` title line)
 * put in place of the section with the same title, or appended; the header is kept,
 * and `provenance` goes under each replaced section's title (it was not measured with
 * the rest of the file).
 */
export function mergeSections(existing: string, rendered: readonly string[], provenance: string): string {
  const { header, sections } = splitSections(existing);
  for (const section of rendered) {
    const [title = "", ...body] = section.split("\n");
    sections.set(title, [title, "", provenance, ...body].join("\n").trimEnd());
  }
  return `${header.trimEnd()}\n\n${[...sections.values()].join("\n\n")}\n`;
}
