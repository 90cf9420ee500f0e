// Creating links: one small builder per kind, all through one RTM_NEWLINK request
// (NLM_F_CREATE|NLM_F_EXCL: an existing name is EEXIST, never silently reused).
import type { NetnsTarget } from "../../native";
import { closeNetns, openNetns } from "../netns/netns";
import { AttrReader, AttrWriter } from "./codec/attrs";
import {
  AF_INET,
  IFLA_BR_VLAN_FILTERING,
  Ifla,
  IflaInfo,
  IflaVxlan,
  Iff,
  NlmF,
  Rtm,
  VETH_INFO_PEER,
} from "./codec/constants";
import { parseIp, parseMac } from "./codec/ip-bytes";
import { IFINFOMSG_LEN, encodeIfInfo } from "./codec/structs";
import type { Handle } from "./handle";
import type { NlMessage } from "./codec/header";
import type { VxlanOptions } from "./link-decode";
import { type LinkRef, linkIndex } from "./links";

interface CommonLinkAttrs {
  name: string;
  mtu?: number;
  mac?: string;
}

function writeCommon(attrs: AttrWriter, link: CommonLinkAttrs): void {
  attrs.string(Ifla.IFNAME, link.name);
  if (link.mtu !== undefined) attrs.u32(Ifla.MTU, link.mtu);
  if (link.mac !== undefined) attrs.bytes(Ifla.ADDRESS, parseMac(link.mac));
}

/** What a new link can be given in its creating request, saving a request each. */
interface CreateOptions {
  /** Up from the start (ifinfomsg flags). */
  up?: boolean | undefined;
  /** Enslaved from the start (IFLA_MASTER: the kernel sets the master right after registering the link). */
  masterIndex?: number | undefined;
}

function newLink(
  h: Handle,
  link: CommonLinkAttrs & CreateOptions & { kind: string },
  writeData?: (data: AttrWriter) => void,
  echo = false,
): NlMessage[] {
  const attrs = new AttrWriter();
  writeCommon(attrs, link);
  if (link.masterIndex !== undefined) attrs.u32(Ifla.MASTER, link.masterIndex);
  // IFLA_LINKINFO and IFLA_INFO_DATA are parsed by the kernel as nested whether or not
  // NLA_F_NESTED is set; iproute2 leaves it off, so do we (byte-identical requests).
  attrs.nest(
    Ifla.LINKINFO,
    (info) => {
      info.string(IflaInfo.KIND, link.kind);
      if (writeData) info.nest(IflaInfo.DATA, writeData, false);
    },
    false,
  );
  return h.request({
    type: Rtm.NEWLINK,
    flags: NlmF.CREATE | NlmF.EXCL | (echo ? NlmF.ECHO : 0),
    payload: Buffer.concat([encodeIfInfo(link.up ? { flags: Iff.UP, change: Iff.UP } : {}), attrs.toBuffer()]),
    op: `add ${link.kind} "${link.name}"`,
  });
}

export interface VethConfig extends CreateOptions {
  name: string;
  peerName: string;
  /** Namespace to create the peer in directly (path or fd); default: the handle's. */
  peerNetns?: NetnsTarget;
  /** MTU of both ends. */
  mtu?: number;
  mac?: string;
  peerMac?: string;
}

/**
 * The peer's index, from the kernel's echo of the new link (NLM_F_ECHO: its RTM_NEWLINK,
 * whose IFLA_LINK is the peer's index in the peer's namespace), so the caller needs no
 * lookup to address the peer. Kernels before 6.1 echo nothing: undefined.
 */
function echoedPeerIndex(replies: NlMessage[]): number | undefined {
  const echo = replies.find((message) => message.type === Rtm.NEWLINK);
  return echo ? new AttrReader(echo.payload.subarray(IFINFOMSG_LEN)).u32(Ifla.LINK) : undefined;
}

/** Creates a veth pair; with peerNetns the peer is born in that namespace (never visible here). */
export function addVeth(h: Handle, config: VethConfig): { peerIndex: number | undefined } {
  const ownedFd = typeof config.peerNetns === "string" ? openNetns(config.peerNetns) : undefined;
  try {
    const peerNetnsFd = ownedFd ?? config.peerNetns;
    const replies = newLink(
      h,
      { ...config, kind: "veth" },
      (data) => {
        const peerAttrs = new AttrWriter();
        writeCommon(peerAttrs, { name: config.peerName, mtu: config.mtu, mac: config.peerMac });
        if (typeof peerNetnsFd === "number") peerAttrs.u32(Ifla.NET_NS_FD, peerNetnsFd);
        // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own attributes.
        data.bytes(VETH_INFO_PEER, Buffer.concat([encodeIfInfo({}), peerAttrs.toBuffer()]));
      },
      true,
    );
    return { peerIndex: echoedPeerIndex(replies) };
  } finally {
    if (ownedFd !== undefined) closeNetns(ownedFd);
  }
}

export interface BridgeConfig {
  name: string;
  mtu?: number;
  mac?: string;
  vlanFiltering?: boolean;
}

export function addBridge(h: Handle, config: BridgeConfig): void {
  const vlanFiltering = config.vlanFiltering;
  newLink(
    h,
    { ...config, kind: "bridge" },
    vlanFiltering === undefined ? undefined : (data) => data.u8(IFLA_BR_VLAN_FILTERING, vlanFiltering ? 1 : 0),
  );
}

export interface VxlanConfig extends VxlanOptions {
  name: string;
  vni: number;
  /** Tunnel source address, v4 or v6 (decides the underlay family). */
  local: string;
  /** Remote unicast or multicast group address. */
  group?: string;
  /** Underlay device. */
  underlay?: LinkRef;
  mtu?: number;
  mac?: string;
}

export function addVxlan(h: Handle, config: VxlanConfig): void {
  const local = parseIp(config.local);
  const v4 = local.family === AF_INET;
  const group = config.group === undefined ? undefined : parseIp(config.group);
  if (group && group.family !== local.family)
    throw new Error(`vxlan "${config.name}": group ${config.group} and local ${config.local} differ in family`);
  const underlayIndex = config.underlay === undefined ? undefined : linkIndex(h, config.underlay);
  newLink(h, { ...config, kind: "vxlan" }, (data) => {
    data.u32(IflaVxlan.ID, config.vni);
    if (group) data.bytes(v4 ? IflaVxlan.GROUP : IflaVxlan.GROUP6, group.bytes);
    if (underlayIndex !== undefined) data.u32(IflaVxlan.LINK, underlayIndex);
    data.bytes(v4 ? IflaVxlan.LOCAL : IflaVxlan.LOCAL6, local.bytes);
    if (config.ttl !== undefined) data.u8(IflaVxlan.TTL, config.ttl);
    const flags: [boolean | undefined, number][] = [
      [config.learning, IflaVxlan.LEARNING],
      [config.proxy, IflaVxlan.PROXY],
      [config.l2miss, IflaVxlan.L2MISS],
      [config.l3miss, IflaVxlan.L3MISS],
      [config.udpCsum, IflaVxlan.UDP_CSUM],
      [config.udp6ZeroCsumTx, IflaVxlan.UDP_ZERO_CSUM6_TX],
      [config.udp6ZeroCsumRx, IflaVxlan.UDP_ZERO_CSUM6_RX],
    ];
    for (const [value, type] of flags) if (value !== undefined) data.u8(type, value ? 1 : 0);
    if (config.port !== undefined) data.be16(IflaVxlan.PORT, config.port);
  });
}
