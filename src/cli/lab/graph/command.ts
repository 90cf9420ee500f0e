// `cnikit lab graph [NAME]`: the lab as one self-contained HTML page (default), as
// Mermaid or Graphviz text (lab diagram's), to stdout or `-o FILE`; or `--serve
// 127.0.0.1:PORT`, the page live, following the lab's state, the kernel's links, the
// impairments and the last probe as they change.
import * as fs from "node:fs";
import { CliError } from "../../errors";
import { writeProgress, writeStdout } from "../../output";
import { readImpairStore } from "../impair/store";
import { readLabProbe } from "../probe-record";
import { requireLabState, resolveLabName } from "../state";
import { type GraphModel, buildGraphModel } from "./model";
import { kernelObserver } from "./observe";
import { renderGraphPage } from "./page";
import { parseServeAddress } from "./serve-address";

export interface LabGraphOptions {
  format?: string;
  output?: string;
  serve?: string;
  poll?: string;
}

const FORMATS = ["html", "mermaid", "dot"] as const;

/** The model of the lab named `lab` as it is now (state files and kernel). */
export function currentGraphModel(lab: string): GraphModel {
  const state = requireLabState(lab);
  return buildGraphModel({
    state,
    impairments: readImpairStore(state.plan),
    probe: readLabProbe(state.plan),
    observe: kernelObserver(),
  });
}

function pollInterval(raw: string | undefined): number {
  if (raw === undefined) return 1000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100 || ms > 60_000)
    throw new CliError(`--poll must be milliseconds from 100 to 60000, got ${JSON.stringify(raw)}`);
  return ms;
}

export async function labGraph(name: string | undefined, options: LabGraphOptions): Promise<void> {
  const format = options.format ?? "html";
  if (!(FORMATS as readonly string[]).includes(format))
    throw new CliError(`--format must be ${FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  if (options.serve !== undefined) {
    if (format !== "html") throw new CliError("--serve serves the HTML page; leave out --format");
    if (options.output !== undefined)
      throw new CliError("--serve and -o go separately: -o writes one page, --serve keeps one live");
    const address = parseServeAddress(options.serve);
    // Resolved once: a page that outlives its lab says that lab is down, not "no lab is up".
    const lab = resolveLabName(name);
    requireLabState(lab);
    const { serveGraph } = require("./serve") as typeof import("./serve");
    await serveGraph({ address, lab, pollMs: pollInterval(options.poll), build: () => currentGraphModel(lab) });
    return;
  }
  let text: string;
  if (format === "html") {
    text = renderGraphPage(currentGraphModel(resolveLabName(name)), { generatedAt: new Date() });
  } else {
    const { graphviz, mermaid } = require("../diagram") as typeof import("../diagram");
    const state = requireLabState(name);
    text = `${format === "dot" ? graphviz(state) : mermaid(state)}\n`;
  }
  if (options.output === undefined || options.output === "-") {
    writeStdout(text);
    return;
  }
  fs.writeFileSync(options.output, text);
  writeProgress(`wrote ${options.output}`);
}
