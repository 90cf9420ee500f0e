// The kernel work of one bridge-style attachment, done in process through our
// rtnetlink codec versus with `ip` commands: a veth born with its peer in the
// container, the host end up, the container end addressed, up, and routed.
// Runs only inside throwaway namespaces; the result is checked with `ip -j`.
import { spawnSync } from "node:child_process";
import { NetnsFixture, addrs, links, routes } from "../netns-fixtures";
import { addAddr } from "../src/netlink/addrs";
import { Handle } from "../src/netlink/handle";
import { addVeth } from "../src/netlink/link-create";
import { setLinkUp } from "../src/netlink/links";
import { addRoute } from "../src/netlink/routes";
import { timeInProcess } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark, VariantResult } from "./lib/types";

const HOST_VETH = "benchveth0";
const CONTAINER_IF = "eth0";
const CONTAINER_CIDR = "10.1.0.2/24";
const GATEWAY = "10.1.0.1";

interface Pair {
  hostPath: string;
  hostName: string;
  containerPath: string;
  containerName: string;
}

function attachWithCodec(pair: Pair): void {
  const host = Handle.at(pair.hostPath);
  const container = Handle.at(pair.containerPath);
  try {
    addVeth(host, { name: HOST_VETH, peerName: CONTAINER_IF, peerNetns: pair.containerPath });
    setLinkUp(host, HOST_VETH);
    addAddr(container, { link: CONTAINER_IF, cidr: CONTAINER_CIDR });
    setLinkUp(container, CONTAINER_IF);
    addRoute(container, { dst: "default", gw: GATEWAY });
  } finally {
    host.close();
    container.close();
  }
}

function ip(args: string[]): void {
  const result = spawnSync("ip", args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr.trim()}`);
}

function attachWithIp(pair: Pair): void {
  ip([
    "-n",
    pair.hostName,
    "link",
    "add",
    HOST_VETH,
    "type",
    "veth",
    "peer",
    "name",
    CONTAINER_IF,
    "netns",
    pair.containerName,
  ]);
  ip(["-n", pair.hostName, "link", "set", HOST_VETH, "up"]);
  ip(["-n", pair.containerName, "addr", "add", CONTAINER_CIDR, "dev", CONTAINER_IF]);
  ip(["-n", pair.containerName, "link", "set", CONTAINER_IF, "up"]);
  ip(["-n", pair.containerName, "route", "add", "default", "via", GATEWAY]);
}

/** Checks the attachment with `ip -j` (never with our codec), then removes it. */
function verifyAndDetach(pair: Pair, verify: boolean): void {
  if (verify) {
    const hostVeth = links(pair.hostPath).find((link) => link.ifname === HOST_VETH);
    const addressed = addrs(pair.containerPath)
      .find((entry) => entry.ifname === CONTAINER_IF)
      ?.addr_info.some((info) => `${info.local}/${info.prefixlen}` === CONTAINER_CIDR);
    const routed = routes(pair.containerPath, 4).some((route) => route.dst === "default" && route.gateway === GATEWAY);
    if (!hostVeth?.flags.includes("UP") || !addressed || !routed) {
      throw new Error(
        `attachment incomplete: host veth ${JSON.stringify(hostVeth?.flags)}, address ${addressed}, route ${routed}`,
      );
    }
  }
  // Deleting one end of a veth deletes both.
  ip(["-n", pair.hostName, "link", "del", HOST_VETH]);
}

function run(context: BenchContext): BenchSection {
  const fixture = new NetnsFixture();
  try {
    const host = fixture.hostNetns();
    const container = fixture.containerNetns();
    const pair: Pair = {
      hostPath: host.path,
      hostName: host.name,
      containerPath: container.path,
      containerName: container.name,
    };
    const last = context.warmup + context.runs - 1;
    const after = (run: number): void => verifyAndDetach(pair, run <= 0 || run === last);
    const first: VariantResult = timeInProcess({
      label: "codec, first sequence in this process",
      plan: { runs: 1, warmup: 0 },
      step: () => attachWithCodec(pair),
      after: () => verifyAndDetach(pair, true),
      note: "loads the addon, first sockets",
    });
    const codec = timeInProcess({
      label: "codec (in process, 5 requests on 2 sockets)",
      plan: context,
      step: () => attachWithCodec(pair),
      after,
    });
    const commands = timeInProcess({
      label: "`ip` commands (5 processes)",
      plan: context,
      step: () => attachWithIp(pair),
      after,
      baseline: true,
    });
    return {
      title: "Kernel work of one attachment: our codec vs `ip`",
      description:
        `Create a veth whose peer \`${CONTAINER_IF}\` is born in the container namespace, set the host end up, add ` +
        `${CONTAINER_CIDR} to \`${CONTAINER_IF}\`, set it up, add a default route via ${GATEWAY}. Timed inside the ` +
        "harness process (Bun, the runtime of the compiled plugins), between two throwaway namespaces; the result is " +
        "checked with `ip -j` on the first and last runs and removed after every run (untimed). " +
        "Here the baseline is the `ip` row, not a Go plugin.",
      variants: [commands, codec, first],
    };
  } finally {
    fixture.cleanup();
  }
}

export const benchmark: Benchmark = { id: "codec-vs-ip", run };
