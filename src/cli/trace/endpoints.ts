// FROM and TO of `cnikit trace`: a lab node (`h1/c1`, `h1`: its address from the lab's
// state), a lab node with an address of its own choosing (`h1/c1=10.10.1.2`), or any
// namespace with an address (`NETNS=ADDRESS`, NETNS a name in /run/netns or a path);
// and the namespaces the path may cross, for the kernel view.
import * as fs from "node:fs";
import * as net from "node:net";
import { NETNS_RUN_DIR, namedNetnsPath } from "../../netns/netns";
import { CliError } from "../errors";
import { type LabNode, findLabNode, labNodes } from "../lab/nodes";
import { type LabState, listLabNames, readLabState, requireLabState } from "../lab/state";
import { resolveNetnsArg } from "../netns-cmd";
import type { ViewNamespace } from "./netlink-view";
import type { TraceEndpoint } from "./types";

export interface TraceScope {
  /** The lab the endpoints belong to, when they are lab nodes. */
  lab?: LabState;
  from: TraceEndpoint;
  to: TraceEndpoint;
  namespaces: ViewNamespace[];
}

const stripPrefix = (cidr: string): string => cidr.split("/")[0] ?? cidr;

function labAddress(state: LabState, node: LabNode): string | undefined {
  if (node.kind === "container") {
    const addresses = (state.addresses[node.label] ?? []).map(stripPrefix);
    return addresses.find((address) => net.isIPv4(address)) ?? addresses[0];
  }
  if (node.kind === "host") return state.plan.hosts.find((host) => host.name === node.label)?.underlayAddress;
  return state.plan.etcd && node.kind === "etcd" ? state.plan.etcd.underlayAddress : undefined;
}

function checkAddress(address: string, spec: string): string {
  if (net.isIP(address) === 0)
    throw new CliError(`trace: ${JSON.stringify(spec)}: ${JSON.stringify(address)} is not an IP address`);
  return address;
}

/** The lab that lab-node names refer to: --lab, else the only lab up (none: not a lab trace). */
function labFor(labName: string | undefined): LabState | undefined {
  if (labName !== undefined) return requireLabState(labName);
  const labs = listLabNames();
  return labs.length === 1 ? readLabState(labs[0] as string) : undefined;
}

function resolveOne(spec: string, state: LabState | undefined, role: "FROM" | "TO"): TraceEndpoint {
  const separator = spec.indexOf("=");
  const name = separator < 0 ? spec : spec.slice(0, separator);
  const given = separator < 0 ? undefined : spec.slice(separator + 1);
  const node = state && findLabNode(state, name);
  if (state && node) {
    const address = given === undefined ? labAddress(state, node) : checkAddress(given, spec);
    if (!address)
      throw new CliError(
        `trace ${role}: lab node ${node.label} has no address to trace ${role === "TO" ? "to" : "from"}; give one: ${node.label}=ADDRESS`,
      );
    return { label: node.label, netns: node.netns, netnsPath: node.netnsPath, address };
  }
  if (given === undefined) {
    const labs = listLabNames();
    const where = state
      ? `lab ${state.plan.name} has no node ${JSON.stringify(name)} (nodes: ${labNodes(state)
          .map((each) => each.label)
          .join(", ")})`
      : labs.length > 1
        ? `several labs are up (${labs.join(", ")}): name one with --lab`
        : "no lab is up";
    throw new CliError(`trace ${role} ${JSON.stringify(spec)}: want a lab node (h1/c1) or NETNS=ADDRESS; ${where}`);
  }
  let netnsPath: string;
  try {
    netnsPath = resolveNetnsArg(name);
  } catch (err) {
    throw new CliError(`trace ${role}: ${(err as Error).message}`, { cause: err });
  }
  return { label: name, netns: name.startsWith("/") ? netnsPath : name, netnsPath, address: checkAddress(given, spec) };
}

function commonPrefix(a: string, b: string): number {
  let length = 0;
  while (length < a.length && a[length] === b[length]) length++;
  return length;
}

/**
 * Outside a lab: every named namespace, so that veth peers and VTEPs can be found wherever
 * they are; those named most like the endpoints first (`run-h1` beside `run-c1`), because
 * a guess taken from where an address lives must come from this topology, not from another
 * one that happens to use the same addresses.
 */
function allNamedNamespaces(endpoints: TraceEndpoint[]): ViewNamespace[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(NETNS_RUN_DIR);
  } catch {
    names = [];
  }
  const kinship = (name: string): number =>
    Math.max(...endpoints.map((endpoint) => commonPrefix(name, endpoint.netns)));
  names.sort((a, b) => kinship(b) - kinship(a) || a.localeCompare(b));
  const named = names.map((name): ViewNamespace => ({ netns: name, netnsPath: namedNetnsPath(name), label: name }));
  const extra = endpoints
    .filter((endpoint) => !names.includes(endpoint.netns))
    .map(
      (endpoint): ViewNamespace => ({ netns: endpoint.netns, netnsPath: endpoint.netnsPath, label: endpoint.label }),
    );
  return [...extra, ...named];
}

export function resolveScope(fromSpec: string, toSpec: string, labName: string | undefined): TraceScope {
  const state = labFor(labName);
  const from = resolveOne(fromSpec, state, "FROM");
  const to = resolveOne(toSpec, state, "TO");
  if (net.isIP(from.address) !== net.isIP(to.address))
    throw new CliError(`trace: ${from.address} and ${to.address} are not of one address family`);
  const inLab =
    state !== undefined && labNodes(state).some((node) => node.netns === from.netns || node.netns === to.netns);
  const labSpaces =
    inLab && state
      ? labNodes(state).map(
          (node): ViewNamespace => ({ netns: node.netns, netnsPath: node.netnsPath, label: node.label }),
        )
      : [];
  // A lab node and a namespace of its own (NETNS=ADDRESS): the lab's namespaces and that one.
  const outside = [from, to]
    .filter((endpoint) => !labSpaces.some((each) => each.netns === endpoint.netns))
    .map(
      (endpoint): ViewNamespace => ({ netns: endpoint.netns, netnsPath: endpoint.netnsPath, label: endpoint.label }),
    );
  const namespaces = inLab
    ? [
        ...labSpaces,
        ...outside.filter((each, index) => outside.findIndex((other) => other.netns === each.netns) === index),
      ]
    : allNamedNamespaces([from, to]);
  return { ...(inLab && state && { lab: state }), from, to, namespaces };
}
