// `cnikit inspect <lab>`: every host's overlay checked against the lab's config: which
// peers have a flood entry on the VTEP (programmed), which lack one (missing), which
// entries point at no configured peer (stale); with --json, every namespace's snapshot.
import { Handle } from "../../netlink/handle";
import { namedNetnsPath } from "../../netns/netns";
import { overlayVtepName } from "../../../overlay/kernel/names";
import { takeSnapshot, type NetnsSnapshot } from "../inspect/snapshot";
import { formatTable, writeJson, writeStdout } from "../output";
import type { LabState } from "./state";

export interface HostOverlayCheck {
  host: string;
  vtep: string;
  present: boolean;
  programmed: string[];
  missing: string[];
  stale: string[];
}

function snapshotOf(netns: string): NetnsSnapshot {
  const nsPath = namedNetnsPath(netns);
  const handle = Handle.at(nsPath);
  try {
    return takeSnapshot(handle, nsPath);
  } finally {
    handle.close();
  }
}

/** The all-zero MAC entries of a VTEP are its flood list: one per peer it sends BUM traffic to. */
export function checkOverlay(state: LabState, snapshots: Map<string, NetnsSnapshot>): HostOverlayCheck[] {
  const vtep = overlayVtepName(state.topology.network.vni);
  return state.plan.hosts.map((host) => {
    const snapshot = snapshots.get(host.netns);
    const expected = state.plan.hosts.filter((other) => other !== host).map((other) => other.underlayAddress);
    const present = snapshot?.links.some((link) => link.name === vtep) ?? false;
    const flood = (snapshot?.fdb ?? [])
      .filter((entry) => entry.dev === vtep && entry.mac === "00:00:00:00:00:00" && entry.dst !== undefined)
      .map((entry) => entry.dst as string);
    return {
      host: host.name,
      vtep,
      present,
      programmed: expected.filter((peer) => flood.includes(peer)),
      missing: expected.filter((peer) => !flood.includes(peer)),
      stale: flood.filter((peer) => !expected.includes(peer)),
    };
  });
}

export function inspectLab(state: LabState, options: { json?: boolean }): void {
  const { plan } = state;
  const namespaces = [
    plan.switchNetns,
    ...plan.hosts.map((host) => host.netns),
    ...plan.containers.map((container) => container.netns),
  ];
  const snapshots = new Map<string, NetnsSnapshot>();
  const absent: string[] = [];
  for (const netns of namespaces) {
    try {
      snapshots.set(netns, snapshotOf(netns));
    } catch {
      absent.push(netns);
    }
  }
  const overlay = plan.plugin === "vxlan-overlay" ? checkOverlay(state, snapshots) : [];
  const healthy =
    absent.length === 0 &&
    overlay.every((check) => check.present && check.missing.length === 0 && check.stale.length === 0);
  if (options.json) {
    writeJson({
      lab: plan.name,
      plugin: plan.plugin,
      healthy,
      missingNamespaces: absent,
      overlay,
      namespaces: Object.fromEntries(snapshots),
    });
  } else {
    const lines = [
      `lab ${plan.name}: ${plan.plugin}, ${healthy ? "consistent with its config" : "INCONSISTENT with its config"}`,
    ];
    if (absent.length > 0) lines.push(`missing namespaces: ${absent.join(", ")}`);
    if (overlay.length > 0) {
      lines.push(
        "",
        formatTable(
          ["HOST", "VTEP", "PROGRAMMED PEERS", "MISSING", "STALE"],
          overlay.map((check) => [
            check.host,
            check.present ? check.vtep : `${check.vtep} (absent)`,
            check.programmed.join(" ") || "-",
            check.missing.join(" ") || "-",
            check.stale.join(" ") || "-",
          ]),
        ),
      );
    }
    lines.push("", `details of one namespace: cnikit inspect ${plan.hosts[0]?.netns ?? "<netns>"}`);
    writeStdout(lines.join("\n"));
  }
  if (!healthy) process.exitCode = 1;
}
