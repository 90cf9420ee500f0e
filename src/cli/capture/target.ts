// `NODE:IF`: which namespace and interface `cnikit capture` listens on, and which UDP
// ports carry VXLAN there (the lab's port, or the usual two outside a lab).
import { Handle } from "../../netlink/handle";
import { findLink, listLinks } from "../../netlink/links";
import { CliError } from "../errors";
import { findLabNode } from "../lab/nodes";
import { listLabNames, readLabState, requireLabState } from "../lab/state";
import { labVxlanPort } from "../lab/topology";
import { resolveNetnsArg } from "../netns-cmd";

/** IANA's port and the kernel's historical default. */
const COMMON_VXLAN_PORTS = [4789, 8472];

export interface CaptureTarget {
  /** As the user wrote the node: `h1`, `h1/c1`, or a namespace. */
  label: string;
  netnsPath: string;
  ifName: string;
  vxlanPorts: number[];
}

export function splitTarget(target: string): { node: string; ifName: string } {
  const separator = target.lastIndexOf(":");
  const node = target.slice(0, separator);
  const ifName = target.slice(separator + 1);
  if (separator <= 0 || ifName === "")
    throw new CliError(`capture target ${JSON.stringify(target)}: want NODE:INTERFACE, e.g. h1:ul0 or h1/c1:eth0`);
  return { node, ifName };
}

/** The namespace of `node`: a node of the lab (`--lab`, or the only lab up), else a namespace name or path. */
function locate(node: string, lab: string | undefined): Omit<CaptureTarget, "ifName"> {
  const state = lab !== undefined ? requireLabState(lab) : onlyLab();
  const labNode = state && findLabNode(state, node);
  if (labNode && state) {
    const vxlanPorts = state.topology.plugin === "vxlan-overlay" ? [labVxlanPort(state.topology)] : [];
    return { label: labNode.label, netnsPath: labNode.netnsPath, vxlanPorts };
  }
  if (lab !== undefined) throw new CliError(`lab ${lab} has no node ${JSON.stringify(node)}`);
  try {
    return { label: node, netnsPath: resolveNetnsArg(node), vxlanPorts: COMMON_VXLAN_PORTS };
  } catch (err) {
    const labs = listLabNames();
    const hint =
      labs.length > 1
        ? `; several labs are up (${labs.join(", ")}), name one with --lab`
        : labs.length === 0
          ? "; no lab is up"
          : `; nor a node of lab ${labs[0]}`;
    throw new CliError(`capture: ${(err as Error).message}${hint}`, { cause: err });
  }
}

function onlyLab(): ReturnType<typeof readLabState> {
  const labs = listLabNames();
  return labs.length === 1 ? readLabState(labs[0] as string) : undefined;
}

/** Resolves the target and checks that the interface is there (naming those that are). */
export function resolveCaptureTarget(target: string, options: { lab?: string; vxlanPort?: number }): CaptureTarget {
  const { node, ifName } = splitTarget(target);
  const located = locate(node, options.lab);
  const handle = Handle.at(located.netnsPath);
  try {
    if (!findLink(handle, ifName)) {
      const names = listLinks(handle).map((link) => link.name);
      throw new CliError(`capture: ${located.label} has no interface ${ifName} (it has ${names.join(", ")})`);
    }
  } finally {
    handle.close();
  }
  return { ...located, ifName, vxlanPorts: options.vxlanPort === undefined ? located.vxlanPorts : [options.vxlanPort] };
}
