// `cnikit probe` and the hidden `probe-agent` it runs inside namespaces.
import type { Command } from "commander";
import { guarded } from "./guarded";

export function addProbeCommands(program: Command): void {
  program
    .command("probe")
    .description("UDP reachability, round-trip time and largest datagram between namespaces; exit 1 if a pair fails")
    .argument(
      "[endpoints...]",
      "NETNS=ADDRESS endpoints: every ordered pair is probed (no arguments at all: the only lab up)",
    )
    .option("--lab [name]", "every pair of containers of a lab (the only one up when no name is given)")
    .option("--from <netns>", "sending namespace (with --to and --address)")
    .option("--to <netns>", "receiving namespace")
    .option("--address <ip>", "address of the receiver to send to")
    .option("--port <port>", "UDP port of the receivers (default: any free port)")
    .option("--count <n>", "small datagrams per pair for the round trip", "3")
    .option("--timeout <ms>", "wait for each answer this long", "1000")
    .option("--no-sizes", "skip the search for the largest datagram")
    .option("--json", "JSON output for scripts")
    .action(guarded((specs: string[], options: object) => require("../probe-cmd").probeCommand(specs, options)));
  const agent = program
    .command("probe-agent", { hidden: true })
    .description("internal: runs inside a namespace for probe");
  agent
    .command("echo")
    .option("--family <family>", "4 or 6", "4")
    .option("--port <port>", "UDP port, 0 for any", "0")
    .action(
      guarded((options: { family: string; port: string }) =>
        require("../probe/agent").runEchoAgent({ family: options.family === "6" ? 6 : 4, port: Number(options.port) }),
      ),
    );
  agent.command("send").action(guarded(() => require("../probe/agent").runSendAgent()));
}
