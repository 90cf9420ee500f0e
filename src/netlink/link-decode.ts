// RTM_NEWLINK messages -> Link objects.
import { AttrReader, findAttr } from "./codec/attrs";
import { IFLA_BR_VLAN_FILTERING, Ifla, IflaBrport, IflaInfo, IflaVxlan, Iff } from "./codec/constants";
import { IFINFOMSG_LEN, decodeIfInfo } from "./codec/structs";
import { formatIp, formatMac } from "./codec/ip-bytes";

/** Tunnel options shared by VxlanConfig (create) and VxlanInfo (read back). */
export interface VxlanOptions {
  /** UDP destination port (the kernel's default is 8472; IANA's is 4789). */
  port?: number;
  learning?: boolean;
  proxy?: boolean;
  l2miss?: boolean;
  l3miss?: boolean;
  ttl?: number;
  udpCsum?: boolean;
  udp6ZeroCsumTx?: boolean;
  udp6ZeroCsumRx?: boolean;
}

export interface VxlanInfo extends VxlanOptions {
  vni: number;
  /** Source address of the tunnel (v4 or v6). */
  local?: string;
  /** Remote or multicast group address. */
  group?: string;
  underlayIndex?: number;
}

/** Settings of a bridge port, from IFLA_INFO_SLAVE_DATA of an enslaved link. */
export interface BridgePortInfo {
  hairpin?: boolean;
  learning?: boolean;
  isolated?: boolean;
}

export type OperState = "UNKNOWN" | "NOTPRESENT" | "DOWN" | "LOWERLAYERDOWN" | "TESTING" | "DORMANT" | "UP";
const operStates: OperState[] = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "bridge", "vxlan"...; absent for plain devices like lo. */
  kind?: string;
  /** "bridge" when the link is a bridge port. */
  slaveKind?: string;
  mtu: number;
  /** "" when the device has no link-layer address. */
  mac: string;
  /** IFF_* flags. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  operstate: OperState;
  masterIndex?: number;
  /** IFLA_IFALIAS, when set. */
  alias?: string;
  /** IFLA_LINK: for a veth the peer's index (in the peer's namespace when linkNetnsId is set). */
  parentIndex?: number;
  /** Namespace id of the peer/underlay as seen from this namespace. */
  linkNetnsId?: number;
  vxlan?: VxlanInfo;
  bridge?: { vlanFiltering: boolean };
  bridgePort?: BridgePortInfo;
}

export function decodeLink(payload: Buffer): Link {
  const info = decodeIfInfo(payload);
  const attrs = new AttrReader(payload.subarray(IFINFOMSG_LEN));
  const address = attrs.get(Ifla.ADDRESS);
  const link: Link = {
    index: info.index,
    name: attrs.str(Ifla.IFNAME) ?? "",
    mtu: attrs.u32(Ifla.MTU) ?? 0,
    mac: address ? formatMac(address) : "",
    flags: info.flags,
    up: (info.flags & Iff.UP) !== 0,
    operstate: operStates[attrs.u8(Ifla.OPERSTATE) ?? 0] ?? "UNKNOWN",
  };
  const master = attrs.u32(Ifla.MASTER);
  if (master) link.masterIndex = master;
  const alias = attrs.str(Ifla.IFALIAS);
  if (alias) link.alias = alias;
  const parent = attrs.u32(Ifla.LINK);
  if (parent !== undefined && parent !== info.index) link.parentIndex = parent;
  const netnsId = attrs.s32(Ifla.LINK_NETNSID);
  if (netnsId !== undefined) link.linkNetnsId = netnsId;
  const linkInfo = attrs.nested(Ifla.LINKINFO);
  if (linkInfo) decodeLinkInfo(link, linkInfo);
  return link;
}

function decodeLinkInfo(link: Link, linkInfo: AttrReader): void {
  const kind = linkInfo.str(IflaInfo.KIND);
  if (kind) link.kind = kind;
  const dataBytes = linkInfo.get(IflaInfo.DATA);
  if (kind === "vxlan" && dataBytes) link.vxlan = decodeVxlan(new AttrReader(dataBytes));
  // One value of the bridge's 45 or so (every bridge ADD looks its bridge up).
  if (kind === "bridge" && dataBytes)
    link.bridge = { vlanFiltering: findAttr(dataBytes, IFLA_BR_VLAN_FILTERING)?.[0] === 1 };
  const slaveKind = linkInfo.str(IflaInfo.SLAVE_KIND);
  if (slaveKind) link.slaveKind = slaveKind;
  const slaveData = linkInfo.nested(IflaInfo.SLAVE_DATA);
  if (slaveKind === "bridge" && slaveData) {
    link.bridgePort = {
      hairpin: slaveData.u8(IflaBrport.MODE) === 1,
      learning: slaveData.u8(IflaBrport.LEARNING) === 1,
      isolated: slaveData.u8(IflaBrport.ISOLATED) === 1,
    };
  }
}

function optionalBool(data: AttrReader, type: number): boolean | undefined {
  const value = data.u8(type);
  return value === undefined ? undefined : value !== 0;
}

function decodeVxlan(data: AttrReader): VxlanInfo {
  const vxlan: VxlanInfo = { vni: data.u32(IflaVxlan.ID) ?? 0 };
  const local = data.get(IflaVxlan.LOCAL) ?? data.get(IflaVxlan.LOCAL6);
  if (local) vxlan.local = formatIp(local);
  const group = data.get(IflaVxlan.GROUP) ?? data.get(IflaVxlan.GROUP6);
  if (group) vxlan.group = formatIp(group);
  const underlay = data.u32(IflaVxlan.LINK);
  if (underlay) vxlan.underlayIndex = underlay;
  const port = data.be16(IflaVxlan.PORT);
  if (port !== undefined) vxlan.port = port;
  const ttl = data.u8(IflaVxlan.TTL);
  if (ttl !== undefined) vxlan.ttl = ttl;
  const flags: [keyof VxlanInfo, number][] = [
    ["learning", IflaVxlan.LEARNING],
    ["proxy", IflaVxlan.PROXY],
    ["l2miss", IflaVxlan.L2MISS],
    ["l3miss", IflaVxlan.L3MISS],
    ["udpCsum", IflaVxlan.UDP_CSUM],
    ["udp6ZeroCsumTx", IflaVxlan.UDP_ZERO_CSUM6_TX],
    ["udp6ZeroCsumRx", IflaVxlan.UDP_ZERO_CSUM6_RX],
  ];
  for (const [key, type] of flags) {
    const value = optionalBool(data, type);
    if (value !== undefined) (vxlan as unknown as Record<string, boolean>)[key] = value;
  }
  return vxlan;
}
