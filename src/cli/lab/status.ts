// `cnikit lab status`: the recorded lab compared with the kernel: every namespace there,
// every container holding the addresses it was given.
import { listAddrs } from "../../netlink/addrs";
import { RtScope } from "../../netlink/codec/constants";
import { Handle } from "../../netlink/handle";
import { findLink } from "../../netlink/links";
import { namedNetnsPath } from "../../netns/netns";
import { formatTable, writeJson, writeStdout } from "../output";
import { netnsExists } from "./kernel";
import { labDaemonStatus } from "./daemons";
import { requireLabState } from "./state";

export interface ContainerStatus {
  label: string;
  netns: string;
  expected: string[];
  found: string[];
  state: "ok" | "missing-netns" | "missing-address";
}

function addressesIn(netns: string, ifName: string): string[] {
  const handle = Handle.at(namedNetnsPath(netns));
  try {
    if (!findLink(handle, ifName)) return [];
    return listAddrs(handle, { link: ifName })
      .filter((addr) => addr.scope === RtScope.UNIVERSE)
      .map((addr) => addr.cidr);
  } finally {
    handle.close();
  }
}

export function labStatus(name: string | undefined, options: { json?: boolean }): void {
  const state = requireLabState(name);
  const { plan } = state;
  const hosts = [plan.switchNetns, ...plan.hosts.map((host) => host.netns)].map((netns) => ({
    netns,
    present: netnsExists(netns),
  }));
  const containers = plan.containers.map((container): ContainerStatus => {
    const expected = state.addresses[container.label] ?? [];
    if (!netnsExists(container.netns))
      return { label: container.label, netns: container.netns, expected, found: [], state: "missing-netns" };
    const found = addressesIn(container.netns, container.ifName);
    const complete = expected.every((cidr) => found.includes(cidr)) && expected.length > 0;
    return {
      label: container.label,
      netns: container.netns,
      expected,
      found,
      state: complete ? "ok" : "missing-address",
    };
  });
  const daemons =
    state.daemons && Object.keys(state.daemons).length > 0
      ? plan.hosts.map((host) => labDaemonStatus(state, host))
      : [];
  const healthy =
    hosts.every((host) => host.present) &&
    containers.every((container) => container.state === "ok") &&
    daemons.every((daemon) => daemon.answering);
  if (options.json) {
    writeJson({ name: plan.name, plugin: plan.plugin, healthy, namespaces: hosts, containers, daemons });
  } else {
    const missingHosts = hosts.filter((host) => !host.present).map((host) => host.netns);
    writeStdout(
      [
        `lab ${plan.name}: ${plan.plugin}, ${plan.hosts.length} hosts, ${plan.containers.length} containers, ${healthy ? "healthy" : "DEGRADED"}`,
        missingHosts.length > 0 ? `missing namespaces: ${missingHosts.join(", ")}` : "",
        formatTable(
          ["CONTAINER", "NETNS", "ADDRESSES", "STATE"],
          containers.map((container) => [
            container.label,
            container.netns,
            (container.found.length > 0 ? container.found : container.expected).join(", ") || "-",
            container.state,
          ]),
        ),
        daemons.length > 0
          ? formatTable(
              ["HOST", "DAEMON PID", "ANSWERING", "SERVED"],
              daemons.map((daemon) => [
                daemon.host,
                String(daemon.pid ?? "-"),
                daemon.answering ? "yes" : "NO",
                String(daemon.served ?? "-"),
              ]),
            )
          : "no daemons: plugin calls run standalone",
      ]
        .filter((line) => line !== "")
        .join("\n"),
    );
  }
  if (!healthy) process.exitCode = 1;
}
