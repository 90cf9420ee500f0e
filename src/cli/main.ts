// The cnikit command. Each action requires its module when it runs (static paths, so
// the compiled executable embeds them) and `cnikit --help` loads only commander.
import { Command } from "commander";
import { reportFailure } from "./errors";

type Action = (...args: never[]) => void | Promise<void>;

/** Wraps an action so any failure becomes one line on stderr and a non-zero status. */
function guarded<A extends Action>(action: A): (...args: Parameters<A>) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      reportFailure(err);
    }
  };
}

function netnsCommand(): Command {
  const netns = new Command("netns")
    .description("named network namespaces (/run/netns), without iproute2")
    .enablePositionalOptions();
  netns
    .command("add")
    .description("create a named namespace with lo up")
    .argument("<name>")
    .action(guarded((name: string) => require("./netns-cmd").netnsAdd(name)));
  netns
    .command("del")
    .alias("delete")
    .description("delete named namespaces (a missing one is fine)")
    .argument("<names...>")
    .action(guarded((names: string[]) => require("./netns-cmd").netnsDel(names)));
  netns
    .command("list")
    .alias("ls")
    .description("list named namespaces")
    .option("--json", "JSON output")
    .action(guarded((options: { json?: boolean }) => require("./netns-cmd").netnsList(options)));
  netns
    .command("exec")
    .description("run a command inside a namespace; exits with the command's status")
    .argument("<name>", "namespace name or path")
    .argument("<command...>", "command and its arguments (put them after --)")
    .passThroughOptions()
    .action(guarded((name: string, argv: string[]) => require("./netns-cmd").netnsExec(name, argv)));
  return netns;
}

export function buildProgram(): Command {
  const program = new Command("cnikit")
    .description("CNI plugins for Linux container networking: run them, build labs, inspect, probe")
    .version(require("../../package.json").version as string)
    .enablePositionalOptions()
    .showSuggestionAfterError();
  program.addCommand(netnsCommand());
  return program;
}

export function main(): void {
  try {
    buildProgram().parseAsync(process.argv).catch(reportFailure);
  } catch (err) {
    reportFailure(err);
  }
}
