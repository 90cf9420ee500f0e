// vxlan-overlay: the container attachment is the bridge plugin's (its steps are shared in
// src/plugin/bridge-attach); what this plugin adds is the VTEP, reconciled with the peer
// list on every ADD under the bridge's lock, between the bridge and the veth.
//   l2: the VTEP is a port of the bridge with one flood entry per peer, and the bridge
//       has an address only where hostAddress gives this host one (one subnet spans
//       every host, so a shared gateway address would conflict across the overlay).
//   l3: the bridge holds the gateway of this host's subnet, the VTEP stands alone, and
//       every peer gets an FDB, a neighbour and a route entry (overlay/kernel/reconcile.ts).
import { parseGcAttachments, VALID_ATTACHMENTS_KEYS } from "../../src/cni/gc";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { CmdArgs, PluginFuncs, Result } from "../../src/cni/types";
import { addressOf, prefixLengthOf, sameAddress } from "../../src/ip/cidr";
import { listAddrs } from "../../src/netlink/addrs";
import { Handle } from "../../src/netlink/handle";
import { withAttachmentLock } from "../../src/plugin/attachment-lock";
import {
  type BridgeAttachSpec,
  allocateAddresses,
  bridgeResult,
  checkBridgeAttachment,
  configureContainer,
  createBridgePort,
  enableGatewayForwarding,
  ensureAttachmentBridge,
  ensureGateway,
  withGateways,
} from "../../src/plugin/bridge-attach";
import { requestedMac } from "../../src/plugin/container-mac";
import { detachAttachment } from "../../src/plugin/detach";
import { ensureGatewayAddresses } from "../../src/plugin/bridge-host";
import { withHandle, withHostAndContainer } from "../../src/plugin/container-netns";
import { withHostLock } from "../../src/plugin/host-lock";
import { hostVethName } from "../../src/plugin/host-veth-name";
import { hasIpam, ipamGc, ipamStatus } from "../../src/plugin/ipam";
import { checkFloodEntries, reconcileFloodEntries } from "../kernel/flood";
import { describeDiff, isEmptyDiff } from "../kernel/peer-entries";
import { comparePeerEntries, reconcilePeerEntries } from "../kernel/reconcile";
import { bridgeLockName } from "../../src/plugin/lock-layout";
import { Rollback } from "../../src/plugin/rollback";
import { type OverlayConfig, loadOverlayConfig } from "./config";
import { type L3Plan, planL3 } from "./l3";
import { addressesOf, readPeers, remotePeers } from "./peers";
import { overlayMtu, resolveUnderlay } from "./underlay";
import { type VtepSpec, checkVtepDevice, ensureVtep, mismatch, removeOverlayIfUnused } from "../kernel/vtep";

/** Everything an ADD or CHECK needs from the host's current state and the current peer list. */
interface OverlayPlan {
  vtep: VtepSpec;
  /** l2: the remote peers' addresses (flood list). */
  floodPeers: string[];
  /** l2: this host's bridge address ("10.20.0.1/16"), when the config gives it one. */
  hostAddress: string | undefined;
  /** l3: our subnet and the remote peers with theirs. */
  l3: L3Plan | undefined;
}

function planOverlay(config: OverlayConfig, host: Handle): OverlayPlan {
  const peers = readPeers(config);
  const underlay = resolveUnderlay({ host, config, peers: addressesOf(peers) });
  const l3 = config.mode === "l3" ? planL3(config, peers, underlay.localAddress) : undefined;
  return {
    vtep: {
      name: config.vtepName,
      vni: config.vni,
      port: config.port,
      localAddress: underlay.localAddress,
      underlay: underlay.link,
      mtu: config.mtu ?? overlayMtu(underlay),
      bridgeName: config.bridgeName,
      bridged: !l3,
      // l3 knows every MAC in advance; learning would only let spoofed sources in.
      learning: !l3,
      ...(l3 && { mac: l3.vtepMac, addresses: l3.vtepAddresses }),
    },
    floodPeers: l3 ? [] : addressesOf(remotePeers(peers, underlay.localAddress)),
    hostAddress: config.hostAddresses.get(underlay.localAddress),
    l3,
  };
}

/** Rollback of a VTEP this ADD created: remove it (and the bridge) unless another attachment now uses them. */
function undoNewVtep(config: OverlayConfig, rollback: Rollback): void {
  rollback.push(`VTEP ${config.vtepName}`, () =>
    withHostLock(bridgeLockName(config.bridgeName), async () => {
      withHandle(Handle.at(null), (host) =>
        removeOverlayIfUnused(host, { vtepName: config.vtepName, bridgeName: config.bridgeName }),
      );
    }),
  );
}

/**
 * Under the bridge's lock, after the bridge exists: parallel ADDs agree on one VTEP and one
 * set of entries per peer. The peer list is read again here, under the lock the overlay
 * agent also takes, so an ADD never puts back a peer set the agent replaced after our
 * first read (that one sized the MTU).
 */
function ensureOverlay(config: OverlayConfig, host: Handle, rollback: Rollback): void {
  const current = planOverlay(config, host);
  if (ensureVtep(host, current.vtep).created) undoNewVtep(config, rollback);
  if (current.l3) reconcilePeerEntries(host, { vtepName: current.vtep.name, vni: config.vni }, current.l3.peers);
  else reconcileFloodEntries(host, current.vtep.name, current.floodPeers);
  if (current.hostAddress !== undefined)
    ensureGatewayAddresses(
      host,
      config.bridgeName,
      [{ address: current.hostAddress, gateway: addressOf(current.hostAddress) }],
      false,
    );
}

/** The container's side of the bridge: l3 makes the bridge the gateway of this host's subnet (forwarding on). */
function attachSpec(config: OverlayConfig, mtu: number): BridgeAttachSpec {
  const l3 = config.mode === "l3";
  return { netConf: config.netConf, bridgeName: config.bridgeName, mtu, isGateway: l3, isDefaultGateway: l3 };
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  const config = loadOverlayConfig(args.stdinData);
  const { netConf } = config;
  return withAttachmentLock(netConf, args, async () => {
    const { vtep } = withHandle(Handle.at(null), (host) => planOverlay(config, host));
    const spec = attachSpec(config, vtep.mtu);
    return withHostAndContainer(args.netns, (host, container) =>
      new Rollback().run(async (rollback) => {
        // What can refuse the input (CNI_ARGS, IPAM) comes before the bridge, which is never rolled back.
        const mac = requestedMac(netConf, args);
        const allocated = await allocateAddresses(netConf, args, rollback, config.delegateStdin);
        const ips = withGateways(allocated.ips ?? [], spec);
        const { bridge, pair } = await withHostLock(bridgeLockName(config.bridgeName), async () => {
          const bridge = ensureAttachmentBridge(host, spec);
          ensureOverlay(config, host, rollback);
          ensureGateway(host, spec, ips, bridge);
          return { bridge, pair: createBridgePort({ host, container, args, spec, bridge, mac }, rollback) };
        });
        const result = configureContainer({ container, args, spec, pair }, allocated, ips, rollback);
        enableGatewayForwarding(spec, result.ips, rollback);
        return bridgeResult(result, bridge, pair, args);
      }),
    );
  });
}

/**
 * The VTEP and bridge stay after the last DEL: an ADD of the same network is usually
 * near, and the shared attachment enslaves its veth outside the bridge lock, so removing
 * them here could pull the bridge from under a parallel ADD. GC removes them.
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData, { subnetFileOptional: true });
  await withAttachmentLock(config.netConf, args, () =>
    detachAttachment({ netConf: config.netConf, ipamStdin: config.delegateStdin }, args),
  );
}

function checkHostAddress(host: Handle, bridgeName: string, hostAddress: string): void {
  const present = listAddrs(host, { link: bridgeName }).some(
    (addr) => sameAddress(addr.address, addressOf(hostAddress)) && addr.prefixLen === prefixLengthOf(hostAddress),
  );
  if (!present)
    throw new CniError(ErrorCode.KernelStateMismatch, `bridge ${bridgeName} lacks this host's address ${hostAddress}`);
}

async function cmdCheck(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData);
  await withAttachmentLock(config.netConf, args, () => checkOverlayAttachment(config, args));
}

async function checkOverlayAttachment(config: OverlayConfig, args: CmdArgs): Promise<void> {
  await checkBridgeAttachment(
    { netConf: config.netConf, ipamStdin: config.delegateStdin, bridgeName: config.bridgeName },
    args,
  );
  withHandle(Handle.at(null), (host) => {
    const plan = planOverlay(config, host);
    checkVtepDevice(host, plan.vtep);
    if (plan.l3) {
      const diff = comparePeerEntries(host, { vtepName: plan.vtep.name, vni: config.vni }, plan.l3.peers);
      if (!isEmptyDiff(diff)) throw mismatch(`VTEP ${plan.vtep.name}: ${describeDiff(diff).join("; ")}`);
    } else checkFloodEntries(host, plan.vtep.name, plan.floodPeers);
    if (plan.hostAddress !== undefined) checkHostAddress(host, config.bridgeName, plan.hostAddress);
  });
}

/** Ready when the underlay exists, is up and holds the local address; else 50. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData, { subnetFileOptional: true });
  withHandle(Handle.at(null), (host) => {
    const underlay = resolveUnderlay({
      host,
      config,
      peers: addressesOf(readPeers(config)),
      missingCode: ErrorCode.PluginNotAvailable,
    });
    if (!underlay.link.up) throw new CniError(ErrorCode.PluginNotAvailable, `underlay ${underlay.link.name} is down`);
  });
  if (hasIpam(config.netConf)) await ipamStatus(config.netConf, args, config.delegateStdin);
}

/** Leases of invalid attachments go; the VTEP and bridge go too once no valid attachment is left on them. */
async function cmdGc(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData, { subnetFileOptional: true });
  if (hasIpam(config.netConf)) await ipamGc(config.netConf, args, config.delegateStdin);
  // Without the list nothing is known to be garbage (an absent list is not an empty one).
  if (!VALID_ATTACHMENTS_KEYS.some((key) => config.netConf[key] !== undefined && config.netConf[key] !== null)) return;
  const validPorts = new Set(
    parseGcAttachments(config.netConf).map((attachment) => hostVethName(attachment.containerID, attachment.ifname)),
  );
  await withHostLock(bridgeLockName(config.bridgeName), async () => {
    withHandle(Handle.at(null), (host) =>
      removeOverlayIfUnused(host, {
        vtepName: config.vtepName,
        bridgeName: config.bridgeName,
        isAttachment: (port) => validPorts.has(port.name),
      }),
    );
  });
}

// The loader applies a `subnetFile` (the overlay agent's); DEL, STATUS and GC go on
// without one, as they must whatever state the agent's files are in. ADD, DEL and CHECK
// each take their attachment's lock first (attachment-lock.ts); STATUS and GC concern none.
export const vxlanOverlayPlugin: PluginFuncs = {
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  status: cmdStatus,
  gc: cmdGc,
};
