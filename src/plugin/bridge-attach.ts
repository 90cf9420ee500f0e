// Attaching a container to a Linux bridge on the host: the ADD, DEL and CHECK steps
// shared by the bridge plugin and vxlan-overlay (which puts its VTEP on the bridge).
import { CniError, ErrorCode } from "../cni/errors";
import type { CmdArgs, IPConfig, Interface, NetConf, Result } from "../cni/types";
import { addressOf, familyOfAddress, firstHostOf, networkOf, prefixLengthOf } from "../ip/cidr";
import { Handle } from "../netlink/handle";
import { enableForwarding, ensureBridge, ensureGatewayAddresses } from "./bridge-host";
import { type PortOptions, addBridgeSelfVlans, attachPort, needsVlanFiltering } from "./bridge-port";
import { checkAddressesAndRoutes, checkLink, containerInterface, requirePrevResult } from "./check";
import { requestedMac } from "./container-mac";
import { configureContainerInterface } from "./container-iface";
import { openContainerNetns, withHandle } from "./container-netns";
import { withHostLock } from "./host-lock";
import { hasIpam, ipamAdd, ipamCheck, ipamDel } from "./ipam";
import { masqAttachmentOf, setupIpMasq, teardownIpMasq } from "./ipmasq";
import { Rollback } from "./rollback";
import { createVethPair } from "./veth-pair";
import { setupMacSpoofCheck, teardownMacSpoofCheck } from "./macspoofchk";

export interface BridgeAttachSpec extends PortOptions {
  netConf: NetConf;
  /** What IPAM is delegated, when not stdin (see ipam.ts). */
  ipamStdin?: Buffer;
  mtu?: number | undefined;
  promisc?: boolean | undefined;
  /** Put the gateway address on the bridge (and turn forwarding on). */
  isGateway: boolean;
  /** Route the container's default traffic through the gateway. */
  isDefaultGateway: boolean;
  /** With isGateway and no gateway from IPAM, the subnet's first address (the reference's default). */
  defaultGatewayFromSubnet?: boolean;
  forceAddress?: boolean | undefined;
  ipMasq?: boolean | undefined;
  enableDad?: boolean | undefined;
  disableContainerInterface?: boolean | undefined;
  /** Drop the container's frames whose source MAC is not its interface's (bridge's macspoofchk). */
  macSpoofCheck?: boolean | undefined;
  /** Host-side work on the bridge (e.g. a VTEP) done under the bridge's lock, after it exists. */
  prepareBridge?: (host: Handle, rollback: Rollback) => void;
}

function withGateways(ips: IPConfig[], spec: BridgeAttachSpec): IPConfig[] {
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

/** The host lock that guards a bridge and what hangs off it (for callers changing them outside an ADD). */
export function bridgeLockName(bridgeName: string): string {
  return `bridge-${bridgeName}`;
}

export async function attachToBridge(spec: BridgeAttachSpec, args: CmdArgs): Promise<Result> {
  const { netConf } = spec;
  const container = openContainerNetns(args.netns);
  const host = Handle.at(null);
  const bridgeLock = bridgeLockName(spec.bridgeName);
  try {
    return await new Rollback().run(async (rollback) => {
      // Everything that can refuse the input (CNI_ARGS, IPAM's config, an exhausted pool)
      // comes before the bridge: a shared bridge is never rolled back, so a refused ADD
      // must not have created it.
      const mac = requestedMac(netConf, args);
      let result: Result = { cniVersion: netConf.cniVersion };
      if (hasIpam(netConf)) {
        result = { ...(await ipamAdd(netConf, args, spec.ipamStdin)), cniVersion: netConf.cniVersion };
        rollback.push("IPAM allocation", () => ipamDel(netConf, args, spec.ipamStdin));
        if (!result.ips?.length)
          throw new CniError(
            ErrorCode.InvalidNetworkConfig,
            `ipam: ${String(netConf.ipam?.type)} returned no IP configuration`,
          );
      }
      const gatewayIps = withGateways(result.ips ?? [], spec);
      const { pair, bridge } = await withHostLock(bridgeLock, async () => {
        const bridge = ensureBridge(host, {
          name: spec.bridgeName,
          mtu: spec.mtu,
          promisc: spec.promisc,
          vlanFiltering: needsVlanFiltering(spec),
        });
        if (needsVlanFiltering(spec)) addBridgeSelfVlans(host, spec);
        spec.prepareBridge?.(host, rollback);
        // Before the veth: a conflicting address on the bridge refuses the ADD before it made anything.
        if (spec.isGateway && gatewayIps.length > 0)
          ensureGatewayAddresses(host, spec.bridgeName, gatewayIps, spec.forceAddress === true, bridge.index);
        // The port joins under the same lock, so a GC that removes an unused bridge
        // can never take it away between its creation and our port joining it.
        const created = createVethPair(
          {
            host,
            container,
            netns: args.netns,
            network: netConf.name,
            containerId: args.containerId,
            ifName: args.ifName,
            mtu: spec.mtu,
            mac,
            hostUp: true,
            masterIndex: bridge.index,
          },
          rollback,
        );
        attachPort(host, created.hostIfName, spec, true);
        rollback.stepDone("host end on the bridge");
        return { pair: created, bridge };
      });

      const ips = gatewayIps.map((ip) => ({ ...ip, interface: 2 }));
      result.ips = ips;
      if (spec.isDefaultGateway) result.routes = withDefaultRoutes(result.routes, ips);

      configureContainerInterface({
        container,
        netns: args.netns,
        ifName: args.ifName,
        result,
        enableDad: spec.enableDad === true,
        leaveDown: spec.disableContainerInterface === true,
      });
      rollback.stepDone("container addresses and routes");
      if (spec.isGateway && ips.length > 0) {
        enableForwarding(ips);
        rollback.stepDone("forwarding on");
      }
      if (spec.ipMasq && ips.length > 0) {
        const attachment = masqAttachmentOf(netConf, args);
        setupIpMasq(
          attachment,
          ips.map((ip) => ({ address: addressOf(ip.address), subnet: networkOf(ip.address) })),
        );
        rollback.push("masquerade rules", () => teardownIpMasq(attachment));
      }
      if (spec.macSpoofCheck) {
        const attachment = masqAttachmentOf(netConf, args);
        setupMacSpoofCheck(attachment, pair.hostIfName, pair.containerMac);
        rollback.push("MAC spoof check", () => teardownMacSpoofCheck(attachment));
      }

      const interfaces: Interface[] = [
        { name: spec.bridgeName, mac: bridge.mac },
        { name: pair.hostIfName, mac: pair.hostMac },
        { name: args.ifName, mac: pair.containerMac, sandbox: args.netns },
      ];
      return { ...result, interfaces, ips };
    });
  } finally {
    host.close();
    container.close();
  }
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
