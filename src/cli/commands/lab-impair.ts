// `cnikit lab netem set|show|reset` and `cnikit lab link down|up` (+ the hidden queue
// process commands): the command tree only; ../lab/impair/* loads when run.
import type { Command } from "commander";
import { guarded } from "./guarded";

const TARGET = "a host (h1: its underlay link), a container (h1/c1: its link) or one interface (h1:lab0)";

export function addImpairCommands(lab: Command): void {
  const netem = lab
    .command("netem")
    .description(
      "impair a lab link: delay, jitter, loss, rate, corruption, duplication, reordering, MTU (netem where the kernel has it)",
    );
  netem
    .command("set")
    .description("impair what a node sends into a link; replaces that link's previous impairment")
    .argument("<target>", TARGET)
    .option("--delay <time>", "added delay, e.g. 20ms")
    .option("--jitter <time>", "delay varies by up to this either way (needs --delay)")
    .option("--loss <percent>", "packets dropped, e.g. 10%")
    .option("--rate <rate>", "bandwidth, e.g. 10mbit, 512kbit (bps = bytes/s)")
    .option("--corrupt <percent>", "packets with one payload byte changed (checksums left wrong)")
    .option("--duplicate <percent>", "packets sent twice")
    .option("--reorder <percent>", "packets sent at once, ahead of delayed ones (needs --delay)")
    .option("--mtu <bytes>", "the link's MTU (both ends)")
    .option("--lab <name>", "lab name (default: the only lab that is up)")
    .action(guarded((target: string, options: object) => require("../lab/impair/commands").netemSet(target, options)));
  netem
    .command("show")
    .description("each link's impairments and the mechanism carrying each (netem, tbf, nftables, the queue process)")
    .argument("[target]", TARGET)
    .option("--json", "JSON output for scripts")
    .option("--lab <name>", "lab name (default: the only lab that is up)")
    .action(
      guarded((target: string | undefined, options: object) =>
        require("../lab/impair/commands").netemShow(target, options),
      ),
    );
  netem
    .command("reset")
    .description("remove a link's impairments (every link's without a target)")
    .argument("[target]", TARGET)
    .option("--lab <name>", "lab name (default: the only lab that is up)")
    .action(
      guarded((target: string | undefined, options: object) =>
        require("../lab/impair/commands").netemReset(target, options),
      ),
    );

  const link = lab
    .command("link")
    .description("take a lab link down or up (the far end, so the node keeps its addresses and routes)");
  for (const [verb, action] of [
    ["down", "linkDown"],
    ["up", "linkUp"],
  ] as const) {
    link
      .command(verb)
      .description(`set a link ${verb}`)
      .argument("<target>", TARGET)
      .option("--lab <name>", "lab name (default: the only lab that is up)")
      .action(guarded((target: string, options: object) => require("../lab/impair/commands")[action](target, options)));
  }

  lab
    .command("impair-queue", { hidden: true })
    .description("the lab's queue process: late verdicts for delay, jitter, reordering, corruption")
    .requiredOption("--lab <name>", "lab name")
    .action(guarded((options: { lab: string }) => require("../lab/impair/queue-server").runQueueServer(options)));
  lab
    .command("impair-queue-reader", { hidden: true })
    .description("pumps one queue's netlink socket (stdin) to stdout for the queue process")
    .option("--queue <id>", "which queue (for ps)")
    .action(guarded(() => require("../lab/impair/queue-reader").runQueueReader()));
}
