// `cnikit capture`: the command tree only; ../capture/capture loads when it runs.
import type { Command } from "commander";
import { guarded } from "./guarded";

export function addCaptureCommand(program: Command): void {
  program
    .command("capture")
    .description(
      "packets of one interface of a lab node or namespace: a pcap (-w) or one line per packet with VXLAN's inner frames",
    )
    .argument("<target>", "NODE:INTERFACE, e.g. h1:ul0, h1/c1:eth0, or a namespace: myns:eth0")
    .option("-w, --write <file>", "write pcap to this file, or - for stdout (| wireshark -k -i -)")
    .option("--count <n>", "stop after this many packets")
    .option("--filter <expr>", "a pcap-filter expression, e.g. 'udp port 4789'")
    .option("--timeout <seconds>", "stop after this long")
    .option("--lab <name>", "the lab NODE belongs to (default: the only lab that is up)")
    .option("--vxlan-port <port>", "UDP port decoded as VXLAN (default: the lab's, else 4789 and 8472)")
    .option("--json", "one JSON object per packet instead of a line of text")
    .action(
      guarded((target: string, options: object) => require("../capture/capture").captureCommand(target, options)),
    );
}
