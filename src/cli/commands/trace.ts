// `cnikit trace FROM TO` and the hidden helpers it runs: `trace-agent listen|send` inside
// the two namespaces, `trace-kernel` in a private mount namespace. The command tree only;
// ../trace/* loads when a command runs.
import type { Command } from "commander";
import { guarded } from "./guarded";

interface AgentArgs {
  proto: string;
  family: string;
  port: string;
  token: string;
  timeoutMs: string;
  to?: string;
  sourcePort?: string;
  payload?: string;
}

function agentOptions(options: AgentArgs): {
  proto: "udp" | "tcp";
  family: 4 | 6;
  port: number;
  token: Buffer;
  timeoutMs: number;
} {
  return {
    proto: options.proto === "tcp" ? "tcp" : "udp",
    family: options.family === "6" ? 6 : 4,
    port: Number(options.port),
    token: Buffer.from(options.token, "hex"),
    timeoutMs: Number(options.timeoutMs),
  };
}

export function addTraceCommands(program: Command): void {
  program
    .command("trace")
    .description(
      "the hop where a packet dies: the kernel's path from its state, a live packet watched at every hop, the verdict (exit 0 only when delivered)",
    )
    .argument("<from>", "a lab node (h1/c1, h1), NODE=ADDRESS, or NETNS=ADDRESS")
    .argument("<to>", "a lab node (h2/c1, h2), NODE=ADDRESS, or NETNS=ADDRESS")
    .option("--proto <proto>", "udp, tcp (a SYN) or icmp (an echo request, by ping)", "udp")
    .option("--port <port>", "destination port (udp, tcp)", "33434")
    .option("--size <bytes>", "IP packet size, headers included; DF is always set (udp, icmp; default 100)")
    .option("--lab <name>", "the lab the nodes belong to (default: the only lab that is up)")
    .option("--wait <ms>", "how long to wait for the packet", "1000")
    .option("--no-send", "only the kernel's state, no live packet (exit 1 if it has a break)")
    .option("--json", "JSON output for scripts")
    .action(
      guarded((from: string, to: string, options: object) => require("../trace/run").traceCommand(from, to, options)),
    );

  const agent = program
    .command("trace-agent", { hidden: true })
    .description("internal: one end of a trace's live packet, inside a namespace");
  agent
    .command("listen")
    .requiredOption("--proto <proto>")
    .requiredOption("--family <family>")
    .requiredOption("--port <port>")
    .requiredOption("--token <hex>")
    .requiredOption("--timeout-ms <ms>")
    .action(guarded((options: AgentArgs) => require("../trace/agent").runListenAgent(agentOptions(options))));
  agent
    .command("send")
    .requiredOption("--proto <proto>")
    .requiredOption("--family <family>")
    .requiredOption("--to <address>")
    .requiredOption("--port <port>")
    .requiredOption("--source-port <port>")
    .requiredOption("--payload <bytes>")
    .requiredOption("--token <hex>")
    .requiredOption("--timeout-ms <ms>")
    .action(
      guarded((options: AgentArgs) =>
        require("../trace/agent").runSendAgent({
          ...agentOptions(options),
          to: options.to,
          sourcePort: Number(options.sourcePort),
          payloadBytes: Number(options.payload),
        }),
      ),
    );
  program
    .command("trace-kernel", { hidden: true })
    .description("internal: records the kernel's packet frees for a trace (run under unshare -m)")
    .requiredOption("--lengths <list>")
    .requiredOption("--protocol <number>")
    .requiredOption("--timeout-ms <ms>")
    .action(
      guarded((options: { lengths: string; protocol: string; timeoutMs: string }) =>
        require("../trace/tracefs-session").runTraceKernel({
          lengths: options.lengths.split(",").map(Number),
          protocol: Number(options.protocol),
          timeoutMs: Number(options.timeoutMs),
        }),
      ),
    );
}
