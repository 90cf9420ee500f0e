// Lab nodes by the names people type: a host (`h1`), a container (`h1/c1`), the
// underlay switch (`underlay`) or the etcd member (`etcd`), mapped to their namespaces.
import { namedNetnsPath } from "../../netns/netns";
import { CliError } from "../errors";
import { type LabState, requireLabState } from "./state";

export interface LabNode {
  /** How the lab names it: `h1`, `h1/c1`, `underlay`. */
  label: string;
  kind: "host" | "container" | "switch" | "etcd";
  /** The named namespace (without /run/netns/). */
  netns: string;
  /** /run/netns/<netns>. */
  netnsPath: string;
}

/** Every node of a lab, hosts first, in plan order. */
export function labNodes(state: LabState): LabNode[] {
  const { plan } = state;
  const node = (label: string, kind: LabNode["kind"], netns: string): LabNode => ({
    label,
    kind,
    netns,
    netnsPath: namedNetnsPath(netns),
  });
  return [
    ...plan.hosts.map((host) => node(host.name, "host", host.netns)),
    ...plan.containers.map((container) => node(container.label, "container", container.netns)),
    node("underlay", "switch", plan.switchNetns),
    ...(plan.etcd ? [node("etcd", "etcd", plan.etcd.netns)] : []),
  ];
}

export function findLabNode(state: LabState, label: string): LabNode | undefined {
  return labNodes(state).find((node) => node.label === label);
}

/** A node of the lab named by `lab` (default: the only lab up); an unknown node lists the known ones. */
export function requireLabNode(label: string, lab: string | undefined): LabNode {
  const state = requireLabState(lab);
  const node = findLabNode(state, label);
  if (!node)
    throw new CliError(
      `lab ${state.plan.name} has no node ${JSON.stringify(label)} (nodes: ${labNodes(state)
        .map((each) => each.label)
        .join(", ")})`,
    );
  return node;
}
