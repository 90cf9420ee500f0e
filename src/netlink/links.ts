// Links: list, look up, change, delete. Creating links of each kind is in link-create.ts.
import type { NetnsTarget } from "../../native";
import { closeNetns, openNetns } from "../netns/netns";
import { AttrWriter } from "./codec/attrs";
import {
  AF_INET,
  AF_UNSPEC,
  IFLA_INET_CONF,
  IPV4_DEVCONF_ARP_NOTIFY,
  Ifla,
  Iff,
  RTEXT_FILTER_SKIP_STATS,
  Rtm,
} from "./codec/constants";
import { isNotFound } from "./codec/errors";
import { parseMac } from "./codec/ip-bytes";
import { decodeIfInfo, encodeIfInfo } from "./codec/structs";
import type { Handle } from "./handle";
import { type Link, decodeLink } from "./link-decode";

/** A link by name (in the handle's namespace) or by index. */
export type LinkRef = string | number;

export function describeLink(ref: LinkRef): string {
  return typeof ref === "number" ? `link #${ref}` : `link "${ref}"`;
}

/** ifinfomsg + attributes that select `ref`: by index, or index 0 and IFLA_IFNAME. */
export function linkRequestPayload(
  ref: LinkRef,
  fields: { family?: number; flags?: number; change?: number },
  attrs: AttrWriter,
): Buffer {
  const selector = new AttrWriter();
  if (typeof ref === "string") selector.string(Ifla.IFNAME, ref);
  const index = typeof ref === "number" ? ref : 0;
  return Buffer.concat([
    encodeIfInfo({ family: fields.family ?? AF_UNSPEC, index, flags: fields.flags ?? 0, change: fields.change ?? 0 }),
    selector.toBuffer(),
    attrs.toBuffer(),
  ]);
}

export function listLinks(h: Handle): Link[] {
  return h
    .dump({ type: Rtm.GETLINK, payload: encodeIfInfo({ family: AF_UNSPEC }), op: "list links" })
    .map((msg) => decodeLink(msg.payload));
}

/** Nothing of ours reads link statistics: leaving them out makes every link reply smaller and cheaper. */
function skipStats(): AttrWriter {
  const attrs = new AttrWriter();
  attrs.u32(Ifla.EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return attrs;
}

/** The kernel's RTM_NEWLINK reply about one link (without statistics), or a NotFoundError. */
function getLinkReply(h: Handle, ref: LinkRef): Buffer {
  const replies = h.request({
    type: Rtm.GETLINK,
    payload: linkRequestPayload(ref, {}, skipStats()),
    op: `get ${describeLink(ref)}`,
  });
  const reply = replies.find((msg) => msg.type === Rtm.NEWLINK);
  if (!reply) throw new Error(`get ${describeLink(ref)}: the kernel answered without the link`);
  return reply.payload;
}

/** The link, or a NotFoundError. */
export function getLink(h: Handle, ref: LinkRef): Link {
  return decodeLink(getLinkReply(h, ref));
}

/** The link, or undefined when it does not exist. */
export function findLink(h: Handle, ref: LinkRef): Link | undefined {
  try {
    return getLink(h, ref);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The index of a link named by `ref`: only the reply's header is decoded (this lookup
 * runs several times per attachment).
 */
export function linkIndex(h: Handle, ref: LinkRef): number {
  if (typeof ref === "number") return ref;
  return decodeIfInfo(getLinkReply(h, ref)).index;
}

export interface LinkChanges {
  up?: boolean;
  /** IFF_PROMISC: receive every frame (the bridge plugin's promiscMode). */
  promisc?: boolean;
  mtu?: number;
  mac?: string;
  /** New name; the link keeps its index. */
  name?: string;
  /** The bridge (or other master) to enslave to; null detaches ("nomaster"). */
  master?: LinkRef | null;
  /** Move the link into this namespace (path or open fd). It leaves the handle's namespace. */
  netns?: NetnsTarget;
  /** IFLA_IFALIAS (`ip link set ... alias`), at most 255 bytes. */
  alias?: string;
  /** net.ipv4.conf.<link>.arp_notify, through IFLA_AF_SPEC in the same request (no sysctl file, no netns entry). */
  arpNotify?: boolean;
}

/**
 * Applies all changes in one request: RTM_NEWLINK without NLM_F_CREATE, as `ip link set`
 * sends it, so a missing link is ENODEV rather than a new one.
 */
export function setLink(h: Handle, ref: LinkRef, changes: LinkChanges): void {
  const attrs = new AttrWriter();
  let flags = 0;
  let change = 0;
  if (changes.up !== undefined) {
    flags = changes.up ? Iff.UP : 0;
    change = Iff.UP;
  }
  if (changes.promisc !== undefined) {
    if (changes.promisc) flags |= Iff.PROMISC;
    change |= Iff.PROMISC;
  }
  if (changes.mtu !== undefined) attrs.u32(Ifla.MTU, changes.mtu);
  if (changes.mac !== undefined) attrs.bytes(Ifla.ADDRESS, parseMac(changes.mac));
  if (changes.master !== undefined) attrs.u32(Ifla.MASTER, changes.master === null ? 0 : linkIndex(h, changes.master));
  // A rename must select the link by index: IFLA_IFNAME would then mean the new name.
  const selector = changes.name !== undefined ? linkIndex(h, ref) : ref;
  if (changes.name !== undefined) attrs.string(Ifla.IFNAME, changes.name);
  if (changes.alias !== undefined) attrs.string(Ifla.IFALIAS, changes.alias);
  const arpNotify = changes.arpNotify;
  if (arpNotify !== undefined)
    attrs.nest(Ifla.AF_SPEC, (spec) =>
      spec.nest(AF_INET, (inet) =>
        inet.nest(IFLA_INET_CONF, (conf) => conf.u32(IPV4_DEVCONF_ARP_NOTIFY, arpNotify ? 1 : 0)),
      ),
    );
  const ownedNetnsFd = typeof changes.netns === "string" ? openNetns(changes.netns) : undefined;
  try {
    const netnsFd = ownedNetnsFd ?? changes.netns;
    if (typeof netnsFd === "number") attrs.u32(Ifla.NET_NS_FD, netnsFd);
    h.request({
      type: Rtm.NEWLINK,
      payload: linkRequestPayload(selector, { flags, change }, attrs),
      op: `set ${describeLink(ref)} ${JSON.stringify(changes)}`,
    });
  } finally {
    if (ownedNetnsFd !== undefined) closeNetns(ownedNetnsFd);
  }
}

export function setLinkUp(h: Handle, ref: LinkRef): void {
  setLink(h, ref, { up: true });
}

export function setLinkDown(h: Handle, ref: LinkRef): void {
  setLink(h, ref, { up: false });
}

/** Deletes a link (a veth takes its peer with it). Missing: NotFoundError. */
export function deleteLink(h: Handle, ref: LinkRef): void {
  h.request({
    type: Rtm.DELLINK,
    payload: linkRequestPayload(ref, {}, new AttrWriter()),
    op: `delete ${describeLink(ref)}`,
    deleting: true,
  });
}
