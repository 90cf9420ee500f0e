// Bridge port settings and VLANs: AF_BRIDGE requests on a port (or, with `self`, on the bridge).
import { AttrReader, AttrWriter } from "./codec/attrs";
import {
  AF_BRIDGE,
  BridgeFlags,
  BridgeVlanInfo,
  Ifla,
  IflaBridge,
  IflaBrport,
  RTEXT_FILTER_BRVLAN,
  Rtm,
} from "./codec/constants";
import { IFINFOMSG_LEN, decodeIfInfo, encodeIfInfo } from "./codec/structs";
import type { Handle } from "./handle";
import { type LinkRef, describeLink, linkIndex } from "./links";

export interface BridgePortSettings {
  hairpin?: boolean;
  isolated?: boolean;
  learning?: boolean;
}

/** Changes port flags of a link enslaved to a bridge (IFLA_PROTINFO, nested). */
export function setBridgePort(h: Handle, port: LinkRef, settings: BridgePortSettings): void {
  const attrs = new AttrWriter().nest(Ifla.PROTINFO, (info) => {
    if (settings.hairpin !== undefined) info.u8(IflaBrport.MODE, settings.hairpin ? 1 : 0);
    if (settings.learning !== undefined) info.u8(IflaBrport.LEARNING, settings.learning ? 1 : 0);
    if (settings.isolated !== undefined) info.u8(IflaBrport.ISOLATED, settings.isolated ? 1 : 0);
  });
  const header = encodeIfInfo({ family: AF_BRIDGE, index: linkIndex(h, port) });
  h.request({
    type: Rtm.SETLINK,
    payload: Buffer.concat([header, attrs.toBuffer()]),
    op: `set bridge port ${describeLink(port)} ${JSON.stringify(settings)}`,
  });
}

export interface BridgeVlanConfig {
  link: LinkRef;
  vid: number;
  /** Last VLAN of a range vid..vidEnd. */
  vidEnd?: number;
  pvid?: boolean;
  untagged?: boolean;
  /** The VLAN of the bridge device itself (`bridge vlan add ... self`), not of a port. */
  self?: boolean;
}

function vlanPayload(h: Handle, config: BridgeVlanConfig): Buffer {
  const flags = (config.pvid ? BridgeVlanInfo.PVID : 0) | (config.untagged ? BridgeVlanInfo.UNTAGGED : 0);
  const vlanInfo = (vlanFlags: number, vid: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt16LE(vlanFlags, 0);
    b.writeUInt16LE(vid, 2);
    return b;
  };
  // The kernel finds IFLA_AF_SPEC by type whatever its flags; without NLA_F_NESTED as iproute2 sends it.
  const attrs = new AttrWriter().nest(
    Ifla.AF_SPEC,
    (spec) => {
      if (config.self) spec.u16(IflaBridge.FLAGS, BridgeFlags.SELF);
      if (config.vidEnd === undefined || config.vidEnd === config.vid) {
        spec.bytes(IflaBridge.VLAN_INFO, vlanInfo(flags, config.vid));
      } else {
        spec.bytes(IflaBridge.VLAN_INFO, vlanInfo(flags | BridgeVlanInfo.RANGE_BEGIN, config.vid));
        spec.bytes(IflaBridge.VLAN_INFO, vlanInfo(flags | BridgeVlanInfo.RANGE_END, config.vidEnd));
      }
    },
    false,
  );
  return Buffer.concat([encodeIfInfo({ family: AF_BRIDGE, index: linkIndex(h, config.link) }), attrs.toBuffer()]);
}

function describeVlan(config: BridgeVlanConfig): string {
  const range = config.vidEnd !== undefined ? `${config.vid}-${config.vidEnd}` : `${config.vid}`;
  return `vlan ${range} ${config.self ? "(self) " : ""}on ${describeLink(config.link)}`;
}

/** Needs a bridge with vlan filtering support in the kernel (CONFIG_BRIDGE_VLAN_FILTERING), else EOPNOTSUPP. */
export function addBridgeVlan(h: Handle, config: BridgeVlanConfig): void {
  h.request({ type: Rtm.SETLINK, payload: vlanPayload(h, config), op: `add ${describeVlan(config)}` });
}

export function deleteBridgeVlan(h: Handle, config: BridgeVlanConfig): void {
  h.request({
    type: Rtm.DELLINK,
    payload: vlanPayload(h, config),
    op: `delete ${describeVlan(config)}`,
    deleting: true,
  });
}

export interface BridgeVlan {
  vid: number;
  pvid: boolean;
  untagged: boolean;
}

/** VLANs per bridge port (and bridge), keyed by link index. */
export function listBridgeVlans(h: Handle): Map<number, BridgeVlan[]> {
  const request = Buffer.concat([
    encodeIfInfo({ family: AF_BRIDGE }),
    new AttrWriter().u32(Ifla.EXT_MASK, RTEXT_FILTER_BRVLAN).toBuffer(),
  ]);
  const result = new Map<number, BridgeVlan[]>();
  for (const msg of h.dump({ type: Rtm.GETLINK, payload: request, op: "list bridge vlans" })) {
    const index = decodeIfInfo(msg.payload).index;
    const spec = new AttrReader(msg.payload.subarray(IFINFOMSG_LEN)).nested(Ifla.AF_SPEC);
    const vlans = (spec?.all(IflaBridge.VLAN_INFO) ?? [])
      .filter((info) => info.length >= 4)
      .map((info) => {
        const flags = info.readUInt16LE(0);
        return {
          vid: info.readUInt16LE(2),
          pvid: (flags & BridgeVlanInfo.PVID) !== 0,
          untagged: (flags & BridgeVlanInfo.UNTAGGED) !== 0,
        };
      });
    if (vlans.length > 0) result.set(index, vlans);
  }
  return result;
}
