// The cnikit command. Subcommands load their modules lazily so `cnikit --help` stays fast.
import { Command } from "commander";

export function main(): void {
  const program = new Command("cnikit")
    .description("CNI plugins for Linux container networking: run them, build labs, inspect, probe")
    .version(require("../../package.json").version as string);
  program.parse(process.argv);
}
