// The bridge plugin's commands: its configuration mapped onto the shared bridge
// attachment (src/plugin/bridge-attach), which vxlan-overlay uses too.
import type { CmdArgs, PluginFuncs, Result } from "../../src/cni/types";
import { type BridgeAttachSpec, attachToBridge, checkBridgeAttachment } from "../../src/plugin/bridge-attach";
import { serializeAttachments } from "../../src/plugin/attachment-lock";
import { detachAttachment } from "../../src/plugin/detach";
import { hasIpam, ipamGc, ipamStatus } from "../../src/plugin/ipam";
import { type BridgeConfig, loadBridgeConfig } from "./config";

function attachSpec(config: BridgeConfig): BridgeAttachSpec {
  const { netConf } = config;
  return {
    netConf,
    bridgeName: config.bridgeName,
    mtu: netConf.mtu,
    promisc: netConf.promiscMode,
    hairpin: netConf.hairpinMode,
    isolated: netConf.portIsolation,
    vlan: netConf.vlan,
    trunkVlans: config.trunkVlans,
    preserveDefaultVlan: netConf.preserveDefaultVlan,
    isGateway: config.isGateway,
    isDefaultGateway: config.isDefaultGateway,
    forceAddress: netConf.forceAddress,
    ipMasq: netConf.ipMasq,
    macSpoofCheck: netConf.macspoofchk,
    enableDad: netConf.enabledad,
    disableContainerInterface: netConf.disableContainerInterface,
  };
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  return attachToBridge(attachSpec(loadBridgeConfig(args.stdinData)), args);
}

async function cmdDel(args: CmdArgs): Promise<void> {
  const config = loadBridgeConfig(args.stdinData);
  await detachAttachment(
    { netConf: config.netConf, ipMasq: config.netConf.ipMasq, macSpoofCheck: config.netConf.macspoofchk },
    args,
  );
}

async function cmdCheck(args: CmdArgs): Promise<void> {
  const config = loadBridgeConfig(args.stdinData);
  await checkBridgeAttachment({ netConf: config.netConf, bridgeName: config.bridgeName }, args);
}

async function cmdStatus(args: CmdArgs): Promise<void> {
  const { netConf } = loadBridgeConfig(args.stdinData);
  if (hasIpam(netConf)) await ipamStatus(netConf, args);
}

async function cmdGc(args: CmdArgs): Promise<void> {
  const { netConf } = loadBridgeConfig(args.stdinData);
  if (hasIpam(netConf)) await ipamGc(netConf, args);
}

export const bridgePlugin: PluginFuncs = serializeAttachments({
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  status: cmdStatus,
  gc: cmdGc,
});
