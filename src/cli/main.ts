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

function withRuntimeOptions(command: Command): Command {
  return command
    .option("--cache-dir <dir>", "result cache directory (default $CNI_CACHE_DIR or /var/lib/cni/cnikit)")
    .option("--host-netns <netns>", "run the plugins inside this namespace (name or path), as that host's runtime would");
}

function attachCommand(name: "add" | "check" | "del", description: string, action: (config: string, netns: string, options: object) => Promise<void>): Command {
  return withRuntimeOptions(
    new Command(name)
      .description(description)
      .argument("<config>", ".conf/.conflist file, or a network name in $NETCONFPATH (/etc/cni/net.d)")
      .argument("<netns>", "container namespace: name in /run/netns or path"),
  )
    .option("--ifname <name>", "interface name in the container (default $CNI_IFNAME or eth0)")
    .option("--container-id <id>", "container id (default: derived from the netns path, as cnitool)")
    .option("--args <pairs>", "CNI_ARGS, e.g. 'IP=10.1.0.5;IgnoreUnknown=1' (default $CNI_ARGS)")
    .option("--capability-args <json>", "runtimeConfig values for declared capabilities (default $CAP_ARGS)")
    .action(guarded(action));
}

function pluginCommands(): Command[] {
  const cni = (): typeof import("./cni-cmd") => require("./cni-cmd");
  const listArg = ".conf/.conflist file, or a network name in $NETCONFPATH";
  return [
    attachCommand("add", "ADD: attach the container namespace; prints the result as JSON", (c, n, o) => cni().cniAdd(c, n, o)),
    attachCommand("check", "CHECK an attachment made by add", (c, n, o) => cni().cniCheck(c, n, o)),
    attachCommand("del", "DEL an attachment (the namespace may already be gone)", (c, n, o) => cni().cniDel(c, n, o)),
    withRuntimeOptions(new Command("gc").description("GC: delete cached attachments not listed as valid, then GC every plugin").argument("<config>", listArg))
      .option("--valid-attachments <list>", "attachments to keep: ID[/IFNAME],... or a JSON array of {containerID, ifname}")
      .action(guarded((c: string, o: object) => cni().cniGc(c, o))),
    withRuntimeOptions(new Command("status").description("STATUS of every plugin in the list").argument("<config>", listArg)).action(
      guarded((c: string, o: object) => cni().cniStatus(c, o)),
    ),
    withRuntimeOptions(new Command("version").description("VERSION of every plugin in the list").argument("<config>", listArg)).action(
      guarded((c: string, o: object) => cni().cniVersion(c, o)),
    ),
  ];
}

export function buildProgram(): Command {
  const program = new Command("cnikit")
    .description("CNI plugins for Linux container networking: run them, build labs, inspect, probe")
    .version(require("../../package.json").version as string)
    .enablePositionalOptions()
    .showSuggestionAfterError();
  for (const command of pluginCommands()) program.addCommand(command);
  program.addCommand(netnsCommand());
  program
    .command("inspect")
    .description("links, addresses, routes, FDB and neighbours of a namespace, read through netlink")
    .argument("<netns>", "namespace name in /run/netns or path")
    .option("--json", "JSON output for scripts")
    .option("--all", "also list multicast FDB entries and NOARP neighbours")
    .action(guarded((target: string, options: object) => require("./inspect-cmd").inspectNetns(target, options)));
  program
    .command("probe")
    .description("UDP reachability, round-trip time and largest datagram between namespaces; exit 1 if a pair fails")
    .argument("[endpoints...]", "NETNS=ADDRESS endpoints: every ordered pair is probed")
    .option("--from <netns>", "sending namespace (with --to and --address)")
    .option("--to <netns>", "receiving namespace")
    .option("--address <ip>", "address of the receiver to send to")
    .option("--port <port>", "UDP port of the receivers (default: any free port)")
    .option("--count <n>", "small datagrams per pair for the round trip", "3")
    .option("--timeout <ms>", "wait for each answer this long", "1000")
    .option("--no-sizes", "skip the search for the largest datagram")
    .option("--json", "JSON output for scripts")
    .action(guarded((specs: string[], options: object) => require("./probe-cmd").probeCommand(specs, options)));
  const agent = program.command("probe-agent", { hidden: true }).description("internal: runs inside a namespace for probe");
  agent
    .command("echo")
    .option("--family <family>", "4 or 6", "4")
    .option("--port <port>", "UDP port, 0 for any", "0")
    .action(guarded((options: { family: string; port: string }) => require("./probe/agent").runEchoAgent({ family: options.family === "6" ? 6 : 4, port: Number(options.port) })));
  agent.command("send").action(guarded(() => require("./probe/agent").runSendAgent()));
  return program;
}

export function main(): void {
  try {
    buildProgram().parseAsync(process.argv).catch(reportFailure);
  } catch (err) {
    reportFailure(err);
  }
}
