// `cnikit add|check|del|gc|status|version`: the command tree only; ../cni-cmd loads when run.
import { Command } from "commander";
import { guarded } from "./guarded";

function withRuntimeOptions(command: Command): Command {
  return command
    .option("--cache-dir <dir>", "result cache directory (default $CNI_CACHE_DIR or /var/lib/cni/cnikit)")
    .option(
      "--host-netns <netns>",
      "run the plugins inside this namespace (name or path), as that host's runtime would",
    );
}

function attachCommand(
  name: "add" | "check" | "del",
  description: string,
  action: (config: string, netns: string, options: object) => Promise<void>,
): Command {
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

export function pluginCommands(): Command[] {
  const cni = (): typeof import("../cni-cmd") => require("../cni-cmd");
  const listArg = ".conf/.conflist file, or a network name in $NETCONFPATH";
  return [
    attachCommand("add", "ADD: attach the container namespace; prints the result as JSON", (c, n, o) =>
      cni().cniAdd(c, n, o),
    ),
    attachCommand("check", "CHECK an attachment made by add", (c, n, o) => cni().cniCheck(c, n, o)),
    attachCommand("del", "DEL an attachment (the namespace may already be gone)", (c, n, o) => cni().cniDel(c, n, o)),
    withRuntimeOptions(
      new Command("gc")
        .description("GC: delete cached attachments not listed as valid, then GC every plugin")
        .argument("<config>", listArg),
    )
      .option(
        "--valid-attachments <list>",
        "attachments to keep: ID[/IFNAME],... or a JSON array of {containerID, ifname}",
      )
      .action(guarded((c: string, o: object) => cni().cniGc(c, o))),
    withRuntimeOptions(
      new Command("status").description("STATUS of every plugin in the list").argument("<config>", listArg),
    ).action(guarded((c: string, o: object) => cni().cniStatus(c, o))),
    withRuntimeOptions(
      new Command("version").description("VERSION of every plugin in the list").argument("<config>", listArg),
    ).action(guarded((c: string, o: object) => cni().cniVersion(c, o))),
  ];
}
