// vxlan-overlay, mode l2: the container attachment is the bridge plugin's (shared in
// src/plugin/bridge-attach); what this plugin adds is the VTEP as a port of that bridge,
// its flood list reconciled with the peer list on every ADD, and an optional per-host
// bridge address. No gateway: one subnet spans every host, so a shared gateway address
// on each host's bridge would conflict across the overlay.
import { parseGcAttachments, VALID_ATTACHMENTS_KEYS } from "../../src/cni/gc";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { CmdArgs, PluginFuncs, Result } from "../../src/cni/types";
import { addressOf, prefixLengthOf, sameAddress } from "../../src/ip/cidr";
import { listAddrs } from "../../src/netlink/addrs";
import { Handle } from "../../src/netlink/handle";
import { attachToBridge, bridgeLockName, checkBridgeAttachment } from "../../src/plugin/bridge-attach";
import { detachAttachment } from "../../src/plugin/detach";
import { ensureGatewayAddresses } from "../../src/plugin/bridge-host";
import { withHandle } from "../../src/plugin/container-netns";
import { withHostLock } from "../../src/plugin/host-lock";
import { hostVethName } from "../../src/plugin/host-veth-name";
import { hasIpam, ipamGc, ipamStatus } from "../../src/plugin/ipam";
import type { Rollback } from "../../src/plugin/rollback";
import { type OverlayConfig, loadOverlayConfig } from "./config";
import { readPeers, remotePeers } from "./peers";
import { overlayMtu, resolveUnderlay } from "./underlay";
import { type VtepSpec, checkVtep, ensureVtep, reconcileFloodEntries, removeOverlayIfUnused } from "./vtep";

/** Everything an ADD or CHECK needs from the host's current state and the current peer list. */
interface OverlayPlan {
  vtep: VtepSpec;
  /** Peers other than us. */
  peers: string[];
  /** This host's bridge address ("10.20.0.1/16"), when the config gives it one. */
  hostAddress: string | undefined;
}

function planOverlay(config: OverlayConfig, host: Handle): OverlayPlan {
  const peers = readPeers(config);
  const underlay = resolveUnderlay({ host, config, peers });
  return {
    vtep: {
      name: config.vtepName,
      vni: config.vni,
      port: config.port,
      localAddress: underlay.localAddress,
      underlay: underlay.link,
      mtu: config.mtu ?? overlayMtu(underlay),
      bridgeName: config.bridgeName,
    },
    peers: remotePeers(peers, underlay.localAddress),
    hostAddress: config.hostAddresses.get(underlay.localAddress),
  };
}

/** Rollback of a VTEP this ADD created: remove it (and the bridge) unless another attachment now uses them. */
function undoNewVtep(config: OverlayConfig, rollback: Rollback): void {
  rollback.push(`VTEP ${config.vtepName}`, () =>
    withHostLock(bridgeLockName(config.bridgeName), async () => {
      withHandle(Handle.at(null), (host) => removeOverlayIfUnused(host, { vtepName: config.vtepName, bridgeName: config.bridgeName }));
    }),
  );
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  const config = loadOverlayConfig(args.stdinData);
  const plan = withHandle(Handle.at(null), (host) => planOverlay(config, host));
  return attachToBridge(
    {
      netConf: config.netConf,
      bridgeName: config.bridgeName,
      mtu: plan.vtep.mtu,
      isGateway: false,
      isDefaultGateway: false,
      // Runs under the bridge's host lock: parallel ADDs agree on one VTEP and one entry per peer.
      prepareBridge: (host, rollback) => {
        if (ensureVtep(host, plan.vtep).created) undoNewVtep(config, rollback);
        reconcileFloodEntries(host, plan.vtep.name, plan.peers);
        if (plan.hostAddress !== undefined)
          ensureGatewayAddresses(host, config.bridgeName, [{ address: plan.hostAddress, gateway: addressOf(plan.hostAddress) }], false);
      },
    },
    args,
  );
}

/**
 * The VTEP and bridge stay after the last DEL: an ADD of the same network is usually
 * near, and the shared attachment enslaves its veth outside the bridge lock, so removing
 * them here could pull the bridge from under a parallel ADD. GC removes them.
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData);
  await detachAttachment({ netConf: config.netConf }, args);
}

function checkHostAddress(host: Handle, bridgeName: string, hostAddress: string): void {
  const present = listAddrs(host, { link: bridgeName }).some((addr) => sameAddress(addr.address, addressOf(hostAddress)) && addr.prefixLen === prefixLengthOf(hostAddress));
  if (!present) throw new CniError(ErrorCode.KernelStateMismatch, `bridge ${bridgeName} lacks this host's address ${hostAddress}`);
}

async function cmdCheck(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData);
  await checkBridgeAttachment({ netConf: config.netConf, bridgeName: config.bridgeName }, args);
  withHandle(Handle.at(null), (host) => {
    const plan = planOverlay(config, host);
    checkVtep(host, plan.vtep, plan.peers);
    if (plan.hostAddress !== undefined) checkHostAddress(host, config.bridgeName, plan.hostAddress);
  });
}

/** Ready when the underlay exists, is up and holds the local address; else 50. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData);
  withHandle(Handle.at(null), (host) => {
    const underlay = resolveUnderlay({ host, config, peers: readPeers(config), missingCode: ErrorCode.PluginNotAvailable });
    if (!underlay.link.up) throw new CniError(ErrorCode.PluginNotAvailable, `underlay ${underlay.link.name} is down`);
  });
  if (hasIpam(config.netConf)) await ipamStatus(config.netConf, args);
}

/** Leases of invalid attachments go; the VTEP and bridge go too once no valid attachment is left on them. */
async function cmdGc(args: CmdArgs): Promise<void> {
  const config = loadOverlayConfig(args.stdinData);
  if (hasIpam(config.netConf)) await ipamGc(config.netConf, args);
  // Without the list nothing is known to be garbage (an absent list is not an empty one).
  if (!VALID_ATTACHMENTS_KEYS.some((key) => config.netConf[key] !== undefined && config.netConf[key] !== null)) return;
  const validPorts = new Set(parseGcAttachments(config.netConf).map((attachment) => hostVethName(attachment.containerID, attachment.ifname)));
  await withHostLock(bridgeLockName(config.bridgeName), async () => {
    withHandle(Handle.at(null), (host) =>
      removeOverlayIfUnused(host, { vtepName: config.vtepName, bridgeName: config.bridgeName, isAttachment: (port) => validPorts.has(port.name) }),
    );
  });
}

export const vxlanOverlayPlugin: PluginFuncs = { add: cmdAdd, del: cmdDel, check: cmdCheck, status: cmdStatus, gc: cmdGc };
