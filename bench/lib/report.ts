// Renders benchmark sections as Markdown tables: median, spread, ratio to the Go plugin.
import { median, quantile } from "./stats";
import type { BenchSection } from "./types";

function ms(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

export function renderSection(section: BenchSection): string {
  const baselineMedian = (group: string | undefined): number | undefined => {
    const baseline = section.variants.find((variant) => variant.baseline && variant.group === group);
    return baseline ? median(baseline.samplesMs) : undefined;
  };
  const lines = [
    `## ${section.title}`,
    "",
    section.description,
    "",
    "| variant | median ms | p25–p75 ms | runs | ratio vs baseline |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const variant of section.variants) {
    const mid = median(variant.samplesMs);
    const base = baselineMedian(variant.group);
    const ratio = base ? `${(mid / base).toFixed(2)}×` : "";
    const label = variant.note ? `${variant.label} (${variant.note})` : variant.label;
    const spread = `${ms(quantile(variant.samplesMs, 0.25))}–${ms(quantile(variant.samplesMs, 0.75))}`;
    lines.push(
      `| ${label} | ${ms(mid)} | ${spread} | ${variant.samplesMs.length} | ${variant.baseline ? "1.00× (baseline)" : ratio} |`,
    );
  }
  for (const note of section.notes ?? []) lines.push("", note);
  return lines.join("\n");
}
