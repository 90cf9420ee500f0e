// Writing results: synchronously, so that output is complete when the process ends.
import { writeAllSync } from "../cni/process-io";

export function writeStdout(text: string): void {
  writeAllSync(1, text.endsWith("\n") ? text : `${text}\n`);
}

export function writeJson(value: unknown): void {
  writeStdout(JSON.stringify(value, null, 2));
}

/** Progress and notes go to stderr so stdout stays parseable. */
export function writeProgress(line: string): void {
  writeAllSync(2, `${line}\n`);
}

/** Left-aligned text columns with a header row. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
