// The bridge plugin's configuration: the reference bridge's options, with its defaults.
import { parseNetConf } from "../../src/cni/config";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { NetConf } from "../../src/cni/types";
import { requireMasqBackend } from "../../src/plugin/ipmasq-backend";
import validate = require("./config.validate");

export interface VlanTrunkEntry {
  id?: number;
  minID?: number;
  maxID?: number;
}

export interface BridgeNetConf extends NetConf {
  bridge?: string;
  isGateway?: boolean;
  isDefaultGateway?: boolean;
  forceAddress?: boolean;
  ipMasq?: boolean;
  /** As in the reference; only "nftables" can be honoured (src/plugin/ipmasq-backend.ts). */
  ipMasqBackend?: "nftables" | "iptables";
  /** Drop frames from the container whose source MAC is not its interface's (src/plugin/macspoofchk.ts). */
  macspoofchk?: boolean;
  mtu?: number;
  hairpinMode?: boolean;
  promiscMode?: boolean;
  portIsolation?: boolean;
  vlan?: number;
  vlanTrunk?: VlanTrunkEntry[];
  preserveDefaultVlan?: boolean;
  enabledad?: boolean;
  disableContainerInterface?: boolean;
}

/** The configuration with defaults applied and derived values computed once. */
export interface BridgeConfig {
  netConf: BridgeNetConf;
  bridgeName: string;
  /** isDefaultGateway implies isGateway, as in the reference. */
  isGateway: boolean;
  isDefaultGateway: boolean;
  /** VLAN IDs the host port carries tagged (from vlanTrunk). */
  trunkVlans: number[];
}

const DEFAULT_BRIDGE = "cni0";

function expandTrunk(entries: VlanTrunkEntry[]): number[] {
  const vids = new Set<number>();
  entries.forEach((entry, index) => {
    const field = `vlanTrunk[${index}]`;
    if (entry.id !== undefined) {
      if (entry.minID !== undefined || entry.maxID !== undefined)
        throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: give either id or minID/maxID, not both`);
      vids.add(entry.id);
      return;
    }
    if (entry.minID === undefined || entry.maxID === undefined)
      throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: needs id, or both minID and maxID`);
    if (entry.minID > entry.maxID)
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `${field}: minID ${entry.minID} is greater than maxID ${entry.maxID}`,
      );
    for (let vid = entry.minID; vid <= entry.maxID; vid++) vids.add(vid);
  });
  return [...vids].sort((a, b) => a - b);
}

export function loadBridgeConfig(stdin: Buffer): BridgeConfig {
  const netConf = parseNetConf<BridgeNetConf>(stdin, validate);
  requireMasqBackend(netConf.ipMasqBackend);
  const trunkVlans = expandTrunk(netConf.vlanTrunk ?? []);
  if (netConf.vlan !== undefined && netConf.vlan !== 0 && trunkVlans.includes(netConf.vlan))
    throw new CniError(ErrorCode.InvalidNetworkConfig, `vlan ${netConf.vlan} is also in vlanTrunk`);
  // As in the reference: addresses on an interface that stays down would be useless.
  if (netConf.disableContainerInterface === true && typeof netConf.ipam?.type === "string" && netConf.ipam.type !== "")
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `disableContainerInterface: true cannot be combined with ipam.type ${JSON.stringify(netConf.ipam.type)} (use "ipam": {})`,
    );
  const isDefaultGateway = netConf.isDefaultGateway === true;
  return {
    netConf,
    bridgeName: netConf.bridge ?? DEFAULT_BRIDGE,
    isGateway: netConf.isGateway === true || isDefaultGateway,
    isDefaultGateway,
    trunkVlans,
  };
}
