// `cnikit lab graph`: the command tree only; ../lab/graph/* loads when it runs.
import type { Command } from "commander";
import { guarded } from "./guarded";

export function addLabGraphCommand(lab: Command): void {
  lab
    .command("graph")
    .description(
      "the lab as a self-contained HTML page: hosts, containers, links with addresses, MTU and impairments, the last probe matrix",
    )
    .argument("[name]", "lab name (default: the only lab that is up)")
    .option("--format <format>", "html, mermaid or dot", "html")
    .option("-o, --output <file>", "write to this file (default: stdout)")
    .option(
      "--serve <address:port>",
      "serve the page live on a loopback address, e.g. 127.0.0.1:8080 (port 0: any free one)",
    )
    .option("--poll <ms>", "how often the live page asks for the lab's state", "1000")
    .action(
      guarded((name: string | undefined, options: object) => require("../lab/graph/command").labGraph(name, options)),
    );
}
