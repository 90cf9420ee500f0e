// What a TARGET of `lab netem` / `lab link` names: a host (`h1`: its underlay link), a
// container (`h1/c1`: its link to the host) or one interface of a node (`h1:lab0`,
// `h1/c1:eth0`). Impairments act on what the node sends into the link (as tc netem on
// that interface); `link down` acts on the far end, so the node keeps its routes.
import { CliError } from "../../errors";
import { CONTAINER_IF, type LabPlan, UNDERLAY_IF } from "../plan";

export interface LinkEnd {
  netns: string;
  ifName: string;
}

export interface LinkTarget extends LinkEnd {
  /** Canonical name: `h1`, `h1/c1`, or `h1:lab0` for any other interface. */
  name: string;
  /**
   * The far end, when the target is a whole link: the switch port by name, or the
   * container's host-side veth (no ifName: the plugin named it; found by the peer index).
   */
  peer?: { netns: string; ifName?: string };
}

export interface TargetName {
  /** `h1` or `h1/c1`. */
  node: string;
  ifName?: string;
}

const NODE = /^[a-z0-9][a-z0-9-]{0,9}(\/[a-z0-9][a-z0-9-]{0,9})?$/;
const IFNAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** Splits `node[:ifname]`; only the syntax is checked. */
export function parseTargetName(text: string, field = "TARGET"): TargetName {
  const [node = "", ifName, extra] = text.split(":");
  if (!NODE.test(node) || extra !== undefined || (ifName !== undefined && !IFNAME.test(ifName))) {
    throw new CliError(
      `${field}: must be a host (h1), a container (h1/c1) or one interface of either (h1:ul0), got ${JSON.stringify(text)}`,
    );
  }
  return ifName === undefined ? { node } : { node, ifName };
}

/** The canonical name: the default interface of a node is left out (`h1:ul0` is `h1`). */
export function canonicalTargetName(name: TargetName): string {
  const defaultIf = name.node.includes("/") ? CONTAINER_IF : UNDERLAY_IF;
  return name.ifName === undefined || name.ifName === defaultIf ? name.node : `${name.node}:${name.ifName}`;
}

export function resolveTarget(plan: LabPlan, text: string): LinkTarget {
  const parsed = parseTargetName(text);
  const name = canonicalTargetName(parsed);
  if (!parsed.node.includes("/")) {
    const host = plan.hosts.find((each) => each.name === parsed.node);
    if (!host)
      throw new CliError(
        `TARGET ${text}: lab ${plan.name} has no host ${parsed.node} (hosts: ${plan.hosts.map((each) => each.name).join(", ")})`,
      );
    if (name !== host.name) return { name, netns: host.netns, ifName: parsed.ifName as string };
    return { name, netns: host.netns, ifName: UNDERLAY_IF, peer: { netns: plan.switchNetns, ifName: host.switchPort } };
  }
  const container = plan.containers.find((each) => each.label === parsed.node);
  if (!container)
    throw new CliError(
      `TARGET ${text}: lab ${plan.name} has no container ${parsed.node} (containers: ${plan.containers.map((each) => each.label).join(", ")})`,
    );
  if (name !== container.label) return { name, netns: container.netns, ifName: parsed.ifName as string };
  const host = plan.hosts.find((each) => each.name === container.host);
  return { name, netns: container.netns, ifName: container.ifName, ...(host && { peer: { netns: host.netns } }) };
}

/** Every target named in a topology must exist in it (checked before anything is built). */
export function checkTopologyTarget(
  text: string,
  hosts: ReadonlyArray<{ name: string; containers: string[] }>,
  field: string,
): string {
  const parsed = parseTargetName(text, field);
  const [hostName, containerName] = parsed.node.split("/");
  const host = hosts.find((each) => each.name === hostName);
  if (!host || (containerName !== undefined && !host.containers.includes(containerName))) {
    throw new CliError(
      `${field}: names no ${containerName === undefined ? "host" : "container"} of the topology (${JSON.stringify(text)})`,
    );
  }
  return canonicalTargetName(parsed);
}
