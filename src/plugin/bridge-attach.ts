// Attaching a container to a Linux bridge on the host, as plain steps: the bridge plugin
// and vxlan-overlay (which puts its VTEP on the bridge) call them in order in their own
// cmdAdd, with their own attachment lock, bridge lock (lock-layout.ts bridgeLockName) and
// Rollback. Each step that changes something pushes its undo (or marks its step) under
// the name the crash suite finds it by. Also the CHECK both share.
import { CniError, ErrorCode } from "../cni/errors";
import type { CmdArgs, IPConfig, Interface, NetConf, Result } from "../cni/types";
import { addressOf, familyOfAddress, firstHostOf, networkOf, prefixLengthOf } from "../ip/cidr";
import { Handle } from "../netlink/handle";
import type { Link } from "../netlink/link-decode";
import { enableForwarding, ensureBridge, ensureGatewayAddresses } from "./bridge-host";
import { type PortOptions, addBridgeSelfVlans, attachPort, needsVlanFiltering } from "./bridge-port";
import { checkAddressesAndRoutes, checkLink, containerInterface, requirePrevResult } from "./check";
import { configureContainerInterface } from "./container-iface";
import { openContainerNetns, withHandle } from "./container-netns";
import { hasIpam, ipamAdd, ipamCheck, ipamDel } from "./ipam";
import { masqAttachmentOf, setupIpMasq, teardownIpMasq } from "./ipmasq";
import type { Rollback } from "./rollback";
import { type VethPair, createVethPair } from "./veth-pair";
import { setupMacSpoofCheck, teardownMacSpoofCheck } from "./macspoofchk";

export interface BridgeAttachSpec extends PortOptions {
  netConf: NetConf;
  mtu?: number | undefined;
  promisc?: boolean | undefined;
  /** Put the gateway address on the bridge (and turn forwarding on). */
  isGateway: boolean;
  /** Route the container's default traffic through the gateway. */
  isDefaultGateway: boolean;
  /** With isGateway and no gateway from IPAM, the subnet's first address (the reference's default). */
  defaultGatewayFromSubnet?: boolean;
  forceAddress?: boolean | undefined;
  enableDad?: boolean | undefined;
  disableContainerInterface?: boolean | undefined;
}

/** The container end's index in the result's interfaces: [bridge, host end, container end]. */
const CONTAINER_INTERFACE = 2;

/**
 * With isGateway: each address with its gateway, IPAM's or else (defaultGatewayFromSubnet)
 * the subnet's first address, as the reference bridge plugin does.
 */
export function withGateways(ips: IPConfig[], spec: BridgeAttachSpec): IPConfig[] {
  if (!spec.isGateway || spec.defaultGatewayFromSubnet === false) return ips;
  return ips.map((ip) =>
    ip.gateway || !hasRoomForGateway(ip.address) ? ip : { ...ip, gateway: firstHostOf(networkOf(ip.address)) },
  );
}

/** A /31 or /32 (/127, /128) has no address to spare for a gateway; the first host would lie outside. */
function hasRoomForGateway(cidr: string): boolean {
  return prefixLengthOf(cidr) <= (familyOfAddress(cidr) === 4 ? 30 : 126);
}

/** isDefaultGateway: a default route per family through the gateway, unless IPAM gave one. */
function withDefaultRoutes(routes: Result["routes"], ips: IPConfig[]): Result["routes"] {
  const merged = [...(routes ?? [])];
  for (const ip of ips) {
    if (!ip.gateway) continue;
    const defaultDst = familyOfAddress(ip.address) === 4 ? "0.0.0.0/0" : "::/0";
    if (!merged.some((route) => route.dst === defaultDst)) merged.push({ dst: defaultDst, gw: ip.gateway });
  }
  return merged;
}

/**
 * IPAM's addresses (undone by IPAM's DEL). Comes before the bridge, as does everything
 * that can refuse the input: a shared bridge is never rolled back, so a refused ADD must
 * not have created it. `ipamStdin`: what IPAM is delegated when not stdin (ipam.ts).
 */
export async function allocateAddresses(
  netConf: NetConf,
  args: CmdArgs,
  rollback: Rollback,
  ipamStdin?: Buffer,
): Promise<Result> {
  if (!hasIpam(netConf)) return { cniVersion: netConf.cniVersion };
  const result = { ...(await ipamAdd(netConf, args, ipamStdin)), cniVersion: netConf.cniVersion };
  rollback.push("IPAM allocation", () => ipamDel(netConf, args, ipamStdin));
  if (!result.ips?.length)
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `ipam: ${String(netConf.ipam?.type)} returned no IP configuration`,
    );
  return result;
}

/** Under the bridge lock: the bridge as the spec wants it, with its own VLANs when it filters them. */
export function ensureAttachmentBridge(host: Handle, spec: BridgeAttachSpec): Link {
  const vlanFiltering = needsVlanFiltering(spec);
  const bridge = ensureBridge(host, { name: spec.bridgeName, mtu: spec.mtu, promisc: spec.promisc, vlanFiltering });
  if (vlanFiltering) addBridgeSelfVlans(host, spec);
  return bridge;
}

/**
 * Under the bridge lock, before the veth: with isGateway, the gateway addresses on the
 * bridge (by index: no lookup), so a conflicting address refuses the ADD before it made anything.
 */
export function ensureGateway(host: Handle, spec: BridgeAttachSpec, ips: IPConfig[], bridge: Link): void {
  if (spec.isGateway && ips.length > 0)
    ensureGatewayAddresses(host, spec.bridgeName, ips, spec.forceAddress === true, bridge.index);
}

export interface BridgePortTarget {
  host: Handle;
  container: Handle;
  args: CmdArgs;
  spec: BridgeAttachSpec;
  bridge: Link;
  /** The container end's MAC (requestedMac), else a random one. */
  mac: string | undefined;
}

/**
 * Under the bridge lock: the veth pair, its host end created up and already a port of
 * the bridge (one request), so a GC that removes an unused bridge can never take it away
 * between its creation and our port joining it.
 */
export function createBridgePort(target: BridgePortTarget, rollback: Rollback): VethPair {
  const { host, args, spec } = target;
  const pair = createVethPair(
    {
      host,
      container: target.container,
      netns: args.netns,
      network: spec.netConf.name,
      containerId: args.containerId,
      ifName: args.ifName,
      mtu: spec.mtu,
      mac: target.mac,
      hostUp: true,
      masterIndex: target.bridge.index,
    },
    rollback,
  );
  attachPort(host, pair.hostIfName, spec, true);
  rollback.stepDone("host end on the bridge");
  return pair;
}

/**
 * The container's addresses and routes (isDefaultGateway: a default route per family
 * through the gateway); they go with the veth on rollback. Returns the result so far.
 */
export function configureContainer(
  target: { container: Handle; args: CmdArgs; spec: BridgeAttachSpec; pair: VethPair },
  allocated: Result,
  ips: IPConfig[],
  rollback: Rollback,
): Result & { ips: IPConfig[] } {
  const { args, spec } = target;
  const result = { ...allocated, ips: ips.map((ip) => ({ ...ip, interface: CONTAINER_INTERFACE })) };
  if (spec.isDefaultGateway) result.routes = withDefaultRoutes(result.routes, result.ips);
  configureContainerInterface({
    container: target.container,
    netns: args.netns,
    ifName: args.ifName,
    ifIndex: target.pair.containerIndex,
    arpNotifySet: true,
    result,
    enableDad: spec.enableDad === true,
    leaveDown: spec.disableContainerInterface === true,
  });
  rollback.stepDone("container addresses and routes");
  return result;
}

/** With isGateway, the host forwards (a host-wide setting: never undone). */
export function enableGatewayForwarding(spec: BridgeAttachSpec, ips: IPConfig[], rollback: Rollback): void {
  if (!spec.isGateway || ips.length === 0) return;
  enableForwarding(ips);
  rollback.stepDone("forwarding on");
}

/** ipMasq: the attachment's masquerade rules. */
export function masquerade(netConf: NetConf, args: CmdArgs, ips: IPConfig[], rollback: Rollback): void {
  if (ips.length === 0) return;
  const attachment = masqAttachmentOf(netConf, args);
  setupIpMasq(
    attachment,
    ips.map((ip) => ({ address: addressOf(ip.address), subnet: networkOf(ip.address) })),
  );
  rollback.push("masquerade rules", () => teardownIpMasq(attachment));
}

/** macspoofchk: the container's frames whose source MAC is not its interface's are dropped. */
export function checkSourceMac(netConf: NetConf, args: CmdArgs, pair: VethPair, rollback: Rollback): void {
  const attachment = masqAttachmentOf(netConf, args);
  setupMacSpoofCheck(attachment, pair.hostIfName, pair.containerMac);
  rollback.push("MAC spoof check", () => teardownMacSpoofCheck(attachment));
}

/** The ADD's result: the bridge, the host end and the container end, with MACs chosen by us (no lookup). */
export function bridgeResult(
  result: Result & { ips: IPConfig[] },
  bridge: Link,
  pair: VethPair,
  args: CmdArgs,
): Result {
  const interfaces: Interface[] = [
    { name: bridge.name, mac: bridge.mac },
    { name: pair.hostIfName, mac: pair.hostMac },
    { name: args.ifName, mac: pair.containerMac, sandbox: args.netns },
  ];
  return { ...result, interfaces, ips: result.ips };
}

/** CHECK: the container interface, its addresses and routes, and the host end on the bridge. */
export async function checkBridgeAttachment(
  spec: { netConf: NetConf; ipamStdin?: Buffer; bridgeName: string },
  args: CmdArgs,
): Promise<void> {
  const prevResult = requirePrevResult(spec.netConf.prevResult);
  if (hasIpam(spec.netConf)) await ipamCheck(spec.netConf, args, spec.ipamStdin);
  const { iface, index } = containerInterface(prevResult, args.ifName, args.netns);
  withHandle(openContainerNetns(args.netns), (container) => {
    checkLink(container, `netns ${args.netns}`, iface);
    checkAddressesAndRoutes(container, args.ifName, prevResult, index);
  });
  withHandle(Handle.at(null), (host) => {
    const bridge = checkLink(host, "the host", { name: spec.bridgeName });
    const hostEnd = (prevResult.interfaces ?? []).find(
      (candidate) => !candidate.sandbox && candidate.name !== spec.bridgeName,
    );
    if (!hostEnd) return;
    const hostLink = checkLink(host, "the host", hostEnd);
    if (hostLink.masterIndex !== bridge.index)
      throw new CniError(
        ErrorCode.KernelStateMismatch,
        `host interface ${hostLink.name} is not a port of bridge ${spec.bridgeName}`,
      );
  });
}
