// `cnikit lab up|down|status|diagram`: the command tree only; ../lab/* loads when run.
import type { Command } from "commander";
import { guarded } from "./guarded";
import { addLabGraphCommand } from "./lab-graph";
import { addImpairCommands } from "./lab-impair";
import { addLabObserveCommands } from "./lab-observe";

export function addLabCommands(program: Command): void {
  const lab = program
    .command("lab")
    .description("multi-host labs: hosts as namespaces on an underlay switch, containers attached by our plugins");
  lab
    .command("up")
    .description("build a lab (again: changes nothing); default: 2 hosts x 2 containers on vxlan-overlay")
    .argument("[topology]", "topology file, JSON or YAML")
    .option("--name <name>", "lab name (default: the topology's name, or 'lab')")
    .option("--quiet", "no progress lines")
    .option("--no-daemon", "no cnikit daemon in the hosts: plugin calls run standalone (topology key daemon: false)")
    .action(guarded((file: string | undefined, options: object) => require("../lab/up").labUp(file, options)));
  lab
    .command("down")
    .description("remove every namespace, link, lease and file of a lab (twice is fine)")
    .argument("[name]", "lab name (default: the only lab that is up)")
    .option("--quiet", "no progress lines")
    .action(guarded((name: string | undefined, options: object) => require("../lab/down").labDown(name, options)));
  lab
    .command("status")
    .description("the lab against the kernel: namespaces and container addresses; exit 1 if degraded")
    .argument("[name]", "lab name (default: the only lab that is up)")
    .option("--json", "JSON output for scripts")
    .action(guarded((name: string | undefined, options: object) => require("../lab/status").labStatus(name, options)));
  lab
    .command("diagram")
    .description("the lab's topology as Mermaid (default) or Graphviz text, or an SVG file")
    .argument("[name]", "lab name (default: the only lab that is up)")
    .option("--format <format>", "mermaid or dot", "mermaid")
    .option("--svg <file>", "write an SVG with Graphviz's dot")
    .action(
      guarded((name: string | undefined, options: object) => require("../lab/diagram").labDiagram(name, options)),
    );
  lab
    .command("list")
    .description("labs that are up")
    .action(guarded(() => require("../lab/list").labList()));
  addLabObserveCommands(lab);
  addImpairCommands(lab);
  addLabGraphCommand(lab);
}
