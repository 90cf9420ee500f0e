// The bridge plugin's commands. ADD reads top to bottom as the reference plugin's: the
// attachment lock, IPAM, then under the bridge's lock the bridge, its gateway address
// and the veth as a port, then the container side; the steps are src/plugin/bridge-attach's.
import type { CmdArgs, PluginFuncs, Result } from "../../src/cni/types";
import {
  type BridgeAttachSpec,
  allocateAddresses,
  bridgeResult,
  checkBridgeAttachment,
  checkSourceMac,
  configureContainer,
  createBridgePort,
  enableGatewayForwarding,
  ensureAttachmentBridge,
  ensureGateway,
  masquerade,
  withGateways,
} from "../../src/plugin/bridge-attach";
import { withAttachmentLock } from "../../src/plugin/attachment-lock";
import { requestedMac } from "../../src/plugin/container-mac";
import { withHostAndContainer } from "../../src/plugin/container-netns";
import { detachAttachment } from "../../src/plugin/detach";
import { withHostLock } from "../../src/plugin/host-lock";
import { hasIpam, ipamGc, ipamStatus } from "../../src/plugin/ipam";
import { bridgeLockName } from "../../src/plugin/lock-layout";
import { Rollback } from "../../src/plugin/rollback";
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
    enableDad: netConf.enabledad,
    disableContainerInterface: netConf.disableContainerInterface,
  };
}

async function cmdAdd(args: CmdArgs): Promise<Result> {
  const config = loadBridgeConfig(args.stdinData);
  const { netConf } = config;
  const spec = attachSpec(config);
  return withAttachmentLock(netConf, args, () =>
    withHostAndContainer(args.netns, (host, container) =>
      new Rollback().run(async (rollback) => {
        // What can refuse the input (CNI_ARGS, IPAM) comes before the bridge, which is never rolled back.
        const mac = requestedMac(netConf, args);
        const allocated = await allocateAddresses(netConf, args, rollback);
        const ips = withGateways(allocated.ips ?? [], spec);
        const { bridge, pair } = await withHostLock(bridgeLockName(config.bridgeName), async () => {
          const bridge = ensureAttachmentBridge(host, spec);
          ensureGateway(host, spec, ips, bridge);
          return { bridge, pair: createBridgePort({ host, container, args, spec, bridge, mac }, rollback) };
        });
        const result = configureContainer({ container, args, spec, pair }, allocated, ips, rollback);
        enableGatewayForwarding(spec, result.ips, rollback);
        if (netConf.ipMasq) masquerade(netConf, args, result.ips, rollback);
        if (netConf.macspoofchk) checkSourceMac(netConf, args, pair, rollback);
        return bridgeResult(result, bridge, pair, args);
      }),
    ),
  );
}

async function cmdDel(args: CmdArgs): Promise<void> {
  const { netConf } = loadBridgeConfig(args.stdinData);
  await withAttachmentLock(netConf, args, () =>
    detachAttachment({ netConf, ipMasq: netConf.ipMasq, macSpoofCheck: netConf.macspoofchk }, args),
  );
}

async function cmdCheck(args: CmdArgs): Promise<void> {
  const config = loadBridgeConfig(args.stdinData);
  await withAttachmentLock(config.netConf, args, () =>
    checkBridgeAttachment({ netConf: config.netConf, bridgeName: config.bridgeName }, args),
  );
}

async function cmdStatus(args: CmdArgs): Promise<void> {
  const { netConf } = loadBridgeConfig(args.stdinData);
  if (hasIpam(netConf)) await ipamStatus(netConf, args);
}

async function cmdGc(args: CmdArgs): Promise<void> {
  const { netConf } = loadBridgeConfig(args.stdinData);
  if (hasIpam(netConf)) await ipamGc(netConf, args);
}

// ADD, DEL and CHECK each take their attachment's lock first (attachment-lock.ts); STATUS and GC concern none.
export const bridgePlugin: PluginFuncs = { add: cmdAdd, del: cmdDel, check: cmdCheck, status: cmdStatus, gc: cmdGc };
