// `cnikit lab exec|events`: looking into a running lab. The command tree only; the
// modules in ../lab load when a command runs.
import type { Command } from "commander";
import { guarded } from "./guarded";

export function addLabObserveCommands(lab: Command): void {
  lab
    .command("exec")
    .description("run a command inside a lab node's namespace; exits with the command's status")
    .argument("<node>", "a host (h1), a container (h1/c1), underlay or etcd")
    .argument("<command...>", "command and its arguments (put them after --)")
    .option("--lab <name>", "lab name (default: the only lab that is up)")
    .passThroughOptions()
    .action(
      guarded((node: string, argv: string[], options: object) => require("../lab/exec").labExec(node, argv, options)),
    );
  lab
    .command("events")
    .description("link, address, route, neighbour and FDB changes in every namespace of a lab, as they happen")
    .argument("[name]", "lab name (default: the only lab that is up)")
    .option("--json", "one JSON object per line")
    .option("--count <n>", "stop after this many events")
    .option("--timeout <seconds>", "stop after this long")
    .action(guarded((name: string | undefined, options: object) => require("../lab/events").labEvents(name, options)));
}
