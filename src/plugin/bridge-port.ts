// The host end of an attachment as a bridge port: master, flags and VLANs.
import { CniError, ErrorCode } from "../cni/errors";
import { addBridgeVlan, deleteBridgeVlan, setBridgePort } from "../netlink/bridge";
import { NetlinkError } from "../netlink/codec/errors";
import type { Handle } from "../netlink/handle";
import { setLink } from "../netlink/links";

export interface PortOptions {
  bridgeName: string;
  hairpin?: boolean | undefined;
  isolated?: boolean | undefined;
  /** Access VLAN (untagged, PVID); 0 or absent: none. */
  vlan?: number | undefined;
  /** VLANs carried tagged. */
  trunkVlans?: number[] | undefined;
  preserveDefaultVlan?: boolean | undefined;
}

const DEFAULT_VLAN = 1;

/** VLAN filtering is on when any VLAN option is used. */
export function needsVlanFiltering(options: PortOptions): boolean {
  return (options.vlan ?? 0) !== 0 || (options.trunkVlans ?? []).length > 0;
}

/** Makes the host end a port of the bridge, up; `enslaved`: it was created as one (createVethPair's masterIndex). */
export function attachPort(host: Handle, hostIfName: string, options: PortOptions, enslaved = false): void {
  if (!enslaved) setLink(host, hostIfName, { master: options.bridgeName, up: true });
  if (options.hairpin || options.isolated) {
    setBridgePort(host, hostIfName, {
      ...(options.hairpin && { hairpin: true }),
      ...(options.isolated && { isolated: true }),
    });
  }
  if (!needsVlanFiltering(options)) return;
  withVlanSupport(options.bridgeName, () => {
    // With VLAN filtering every new port starts in the default VLAN 1; keep it only when asked.
    if (!options.preserveDefaultVlan) deleteBridgeVlan(host, { link: hostIfName, vid: DEFAULT_VLAN });
    const accessVlan = options.vlan ?? 0;
    if (accessVlan !== 0) addBridgeVlan(host, { link: hostIfName, vid: accessVlan, pvid: true, untagged: true });
    for (const vid of options.trunkVlans ?? []) addBridgeVlan(host, { link: hostIfName, vid });
  });
}

/** The bridge device itself joins the VLANs its ports use, so the host can reach them. */
export function addBridgeSelfVlans(host: Handle, options: PortOptions): void {
  withVlanSupport(options.bridgeName, () => {
    const accessVlan = options.vlan ?? 0;
    if (accessVlan !== 0) addBridgeVlan(host, { link: options.bridgeName, vid: accessVlan, self: true });
    for (const vid of options.trunkVlans ?? []) addBridgeVlan(host, { link: options.bridgeName, vid, self: true });
  });
}

/** A kernel without CONFIG_BRIDGE_VLAN_FILTERING answers EOPNOTSUPP: say which option needs it. */
export function withVlanSupport(bridgeName: string, steps: () => void): void {
  try {
    steps();
  } catch (err) {
    if (err instanceof NetlinkError && err.code === "EOPNOTSUPP")
      throw new CniError(
        ErrorCode.UnsupportedField,
        `vlan/vlanTrunk: bridge ${bridgeName} needs VLAN filtering, which this kernel does not support (EOPNOTSUPP)`,
        "",
        { cause: err },
      );
    throw err;
  }
}
