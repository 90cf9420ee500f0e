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
import { planOverlay, vtepHoldsStampedEntries } from "./plan";
import { addressesOf, readPeers } from "./peers";
import { resolveUnderlay } from "./underlay";
import { checkVtepDevice, ensureVtep, mismatch, removeOverlayIfUnused } from "../kernel/vtep";

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
 * first read (that one sized the MTU). When the VTEP's stamp is for these very inputs
 * (plan.ts), the list's bytes are all that is read of it, and the kernel's entries are
 * hashed instead of diffed: every ADD after the first, at 10,000 peers.
 */
function ensureOverlay(config: OverlayConfig, host: Handle, rollback: Rollback): void {
  let plan = planOverlay(config, host, { useStamp: true });
  if (ensureVtep(host, plan.vtep).created) undoNewVtep(config, rollback);
  // The stamp vouches for the list, not for the kernel: entries changed since, the whole list.
  if (plan.entries.source === "stamp" && !vtepHoldsStampedEntries(host, config, plan.entries))
    plan = planOverlay(config, host, { useStamp: false });
  const { entries } = plan;
  if (entries.source === "list" && entries.l3)
    reconcilePeerEntries(host, { vtepName: plan.vtep.name, vni: config.vni }, entries.l3.peers, entries.stampExtra);
  else if (entries.source === "list")
    reconcileFloodEntries(host, plan.vtep.name, entries.floodPeers, entries.stampExtra);
  if (plan.hostAddress !== undefined)
    ensureGatewayAddresses(
      host,
      config.bridgeName,
      [{ address: plan.hostAddress, gateway: addressOf(plan.hostAddress) }],
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
    const { vtep } = withHandle(Handle.at(null), (host) => planOverlay(config, host, { useStamp: true }));
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
    const plan = planOverlay(config, host, { useStamp: false });
    checkVtepDevice(host, plan.vtep);
    const { entries } = plan;
    if (entries.source === "list" && entries.l3) {
      const diff = comparePeerEntries(host, { vtepName: plan.vtep.name, vni: config.vni }, entries.l3.peers);
      if (!isEmptyDiff(diff)) throw mismatch(`VTEP ${plan.vtep.name}: ${describeDiff(diff).join("; ")}`);
    } else if (entries.source === "list") checkFloodEntries(host, plan.vtep.name, entries.floodPeers);
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
