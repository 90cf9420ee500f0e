// `cnikit overlay agent|config|leases`: overlay membership on etcd. Only the command
// tree is built here; the agent and the etcd client load when an action runs.
import { Command } from "commander";
import { reportFailure } from "./errors";

function guardedAction<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      reportFailure(err);
    }
  };
}

function withEtcd(command: Command): Command {
  return command
    .requiredOption("--etcd <endpoints>", "etcd client URLs, comma-separated (http://198.18.0.10:2379)")
    .requiredOption("--network <name>", "overlay network name (its keys live under <key-prefix>/<name>/)")
    .option("--key-prefix <prefix>", "etcd key prefix", "/cnikit/overlay")
    .option("--etcd-cacert <file>", "PEM CA that signed etcd's certificate (https:// endpoints; default: system roots)")
    .option("--etcd-cert <file>", "PEM client certificate, for an etcd run with --client-cert-auth (with --etcd-key)")
    .option("--etcd-key <file>", "PEM private key of --etcd-cert")
    .option("--etcd-user <name>", "etcd user, for an etcd with auth enabled (with --etcd-password[-file])")
    .option("--etcd-password <password>", "password of --etcd-user (visible in ps: prefer --etcd-password-file)")
    .option(
      "--etcd-password-file <file>",
      "file holding the password of --etcd-user (one line; not on the command line)",
    );
}

export function overlayCommand(): Command {
  const overlay = new Command("overlay").description(
    "overlay membership on etcd: subnet leases, peers for vxlan-overlay",
  );
  withEtcd(
    overlay
      .command("agent")
      .description(
        "run on each host: lease a subnet, publish this host, keep peersFile/subnetFile equal to the live hosts",
      ),
  )
    .option(
      "--host-id <id>",
      "this host's identity (default: its underlay address); the same id gets the same subnet back",
    )
    .option("--underlay-address <address>", "address peers send VXLAN to (default: the source address towards etcd)")
    .option("--vtep-mac <mac>", "VTEP MAC to publish")
    .option(
      "--peers-file <file>",
      "peers list for vxlan-overlay's peersFile (default /run/cnikit/overlay/<network>/peers.json)",
    )
    .option("--subnet-file <file>", "this host's subnet and MTU (default /run/cnikit/overlay/<network>/subnet.json)")
    .option("--ttl <seconds>", "lease TTL, renewed every third of it (default 20)")
    .option("--mtu <bytes>", "overlay MTU (default: underlay interface MTU minus the VXLAN overhead)")
    .option(
      "--vni <vni>",
      "also program this host's VTEP (vx<vni>) from the live set, as vxlan-overlay does, and publish its MAC",
    )
    .option(
      "--mode <mode>",
      "with --vni: the overlay's mode, l2 (flood list, the default) or l3 (FDB, neighbour, route per peer)",
    )
    .option("--bridge <name>", "with --vni: the plugin's bridge name (default vxbr<vni>), whose lock the agent shares")
    .option("--revoke-on-exit", "revoke the lease on SIGTERM (the host leaves now) instead of letting it run out")
    .action(
      guardedAction(async (options: import("../../overlay/membership/agent-main").AgentCliOptions) =>
        require("../../overlay/membership/agent-main").runAgent(options),
      ),
    );
  withEtcd(
    overlay
      .command("config")
      .description(
        "store the network's address pool (JSON: network, subnetLen, subnetMin/Max, ipv6Network, ipv6SubnetLen...)",
      ),
  )
    .requiredOption("--set <json>", `pool config, e.g. '{"network":"10.20.0.0/16","subnetLen":24}'`)
    .option("--force", "replace a pool that live hosts lease from")
    .action(
      guardedAction(
        async (options: import("../../overlay/membership/admin").AdminOptions & { set: string; force?: boolean }) =>
          require("../../overlay/membership/admin").setPoolConfig({ ...options, config: options.set }),
      ),
    );
  withEtcd(overlay.command("leases").description("list the live hosts of the network"))
    .option("--json", "JSON output")
    .action(
      guardedAction(async (options: import("../../overlay/membership/admin").AdminOptions & { json?: boolean }) => {
        const { listLeases } =
          require("../../overlay/membership/admin") as typeof import("../../overlay/membership/admin");
        const { formatTable, writeJson, writeStdout } = require("./output") as typeof import("./output");
        const leases = await listLeases(options);
        if (options.json) return writeJson(leases);
        writeStdout(
          formatTable(
            ["HOST", "UNDERLAY", "SUBNET", "IPV6 SUBNET", "VTEP MAC"],
            leases.map((l) => [l.hostId, l.underlayAddress, l.subnet ?? "", l.ipv6Subnet ?? "", l.vtepMac ?? ""]),
          ),
        );
      }),
    );
  return overlay;
}
