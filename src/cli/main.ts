// The cnikit command. Each action requires its module when it runs (static paths, so
// the compiled executable embeds them) and `cnikit --help` loads only commander.
import { Command } from "commander";
import { versionText } from "../cni/build-version";
import { addCaptureCommand } from "./commands/capture";
import { guarded } from "./commands/guarded";
import { addLabCommands } from "./commands/lab";
import { netnsCommand } from "./commands/netns";
import { pluginCommands } from "./commands/plugins";
import { addProbeCommands } from "./commands/probe";
import { reportFailure } from "./errors";

export function buildProgram(): Command {
  const program = new Command("cnikit")
    .description("CNI plugins for Linux container networking: run them, build labs, inspect, probe")
    .version(versionText())
    .enablePositionalOptions()
    .showSuggestionAfterError();
  for (const command of pluginCommands()) program.addCommand(command);
  program.addCommand(netnsCommand());
  program.addCommand(require("./overlay").overlayCommand());
  program.addCommand(require("./commands/daemon").daemonCommand());
  program
    .command("inspect")
    .description(
      "links, addresses, routes, FDB and neighbours of a namespace; for a lab, overlay peers programmed/missing/stale",
    )
    .argument("<target>", "namespace name in /run/netns or path, or a lab name")
    .option("--json", "JSON output for scripts")
    .option("--all", "also list multicast FDB entries and NOARP neighbours")
    .action(guarded((target: string, options: object) => require("./inspect-cmd").inspectTarget(target, options)));
  addProbeCommands(program);
  addCaptureCommand(program);
  require("./commands/trace").addTraceCommands(program);
  addLabCommands(program);
  return program;
}

export function main(): void {
  try {
    buildProgram().parseAsync(process.argv).catch(reportFailure);
  } catch (err) {
    reportFailure(err);
  }
}
