// `cnikit netns ...`: the command tree only; the work is in ../netns-cmd, loaded when run.
import { Command } from "commander";
import { guarded } from "./guarded";

export function netnsCommand(): Command {
  const netns = new Command("netns")
    .description("named network namespaces (/run/netns), without iproute2")
    .enablePositionalOptions();
  netns
    .command("add")
    .description("create a named namespace with lo up")
    .argument("<name>")
    .action(guarded((name: string) => require("../netns-cmd").netnsAdd(name)));
  netns
    .command("del")
    .alias("delete")
    .description("delete named namespaces (a missing one is fine)")
    .argument("<names...>")
    .action(guarded((names: string[]) => require("../netns-cmd").netnsDel(names)));
  netns
    .command("list")
    .alias("ls")
    .description("list named namespaces")
    .option("--json", "JSON output")
    .action(guarded((options: { json?: boolean }) => require("../netns-cmd").netnsList(options)));
  netns
    .command("exec")
    .description("run a command inside a namespace; exits with the command's status")
    .argument("<name>", "namespace name or path")
    .argument("<command...>", "command and its arguments (put them after --)")
    .passThroughOptions()
    .action(guarded((name: string, argv: string[]) => require("../netns-cmd").netnsExec(name, argv)));
  return netns;
}
