// Watching rtnetlink changes as they happen (what `ip monitor` does): a socket inside a
// namespace that joined RTNLGRP_* multicast groups, and its notifications decoded into
// the same objects the list functions return.
import { type NetnsTarget, native } from "../../native";
import { checkNetnsPath } from "../netns/netns";
import { NlmsgType, Rtm } from "./codec/constants";
import { splitMessages } from "./codec/header";
import { type Addr, decodeAddr } from "./addrs";
import { type Link, decodeLink } from "./link-decode";
import { type Neigh, decodeNeigh } from "./neigh";
import { type Route, decodeRoute } from "./routes";

/** enum rtnetlink_groups (linux/rtnetlink.h): group numbers, not bit masks. FDB changes come with NEIGH. */
export const RtnlGrp = {
  LINK: 1,
  NEIGH: 3,
  IPV4_IFADDR: 5,
  IPV4_ROUTE: 7,
  IPV6_IFADDR: 9,
  IPV6_ROUTE: 11,
} as const;

export const ALL_CHANGE_GROUPS: readonly number[] = Object.values(RtnlGrp);

export type ChangeAction = "new" | "del";

export type RtnlChange =
  | { kind: "link"; action: ChangeAction; link: Link }
  | { kind: "addr"; action: ChangeAction; addr: Addr }
  | { kind: "route"; action: ChangeAction; route: Route }
  /** ARP/NDP entries (family 4/6) and FDB entries (family "bridge") share these messages. */
  | { kind: "neigh"; action: ChangeAction; neigh: Neigh };

/** One notification message -> a change; undefined for message types we do not watch. */
export function decodeChange(type: number, payload: Buffer): RtnlChange | undefined {
  switch (type) {
    case Rtm.NEWLINK:
    case Rtm.DELLINK:
      return { kind: "link", action: type === Rtm.NEWLINK ? "new" : "del", link: decodeLink(payload) };
    case Rtm.NEWADDR:
    case Rtm.DELADDR:
      return { kind: "addr", action: type === Rtm.NEWADDR ? "new" : "del", addr: decodeAddr(payload) };
    case Rtm.NEWROUTE:
    case Rtm.DELROUTE:
      return { kind: "route", action: type === Rtm.NEWROUTE ? "new" : "del", route: decodeRoute(payload) };
    case Rtm.NEWNEIGH:
    case Rtm.DELNEIGH:
      return { kind: "neigh", action: type === Rtm.NEWNEIGH ? "new" : "del", neigh: decodeNeigh(payload) };
    default:
      return undefined;
  }
}

/** Every change in one datagram (the kernel may batch several notifications). */
export function decodeChanges(datagram: Buffer): RtnlChange[] {
  const changes: RtnlChange[] = [];
  for (const message of splitMessages(datagram)) {
    if (message.type === NlmsgType.NOOP || message.type === NlmsgType.DONE) continue;
    const change = decodeChange(message.type, message.payload);
    if (change) changes.push(change);
  }
  return changes;
}

const ENOBUFS = 105;
/** A poll returns after this many datagrams even if more are queued, so other namespaces get their turn. */
const MAX_DATAGRAMS_PER_POLL = 256;

/** What one poll of a subscription returned: changes, or the news that some were lost. */
export type PollResult = { changes: RtnlChange[]; lost: boolean };

export class Subscription {
  readonly netns: NetnsTarget;
  private fd: number;

  private constructor(netns: NetnsTarget, fd: number) {
    this.netns = netns;
    this.fd = fd;
  }

  /** Joins `groups` (RtnlGrp values) in the namespace at `netns`. */
  static at(netns: NetnsTarget, groups: readonly number[] = ALL_CHANGE_GROUPS): Subscription {
    if (typeof netns === "string") checkNetnsPath(netns);
    return new Subscription(netns, native().netlinkSubscribe(netns, [...groups]));
  }

  /**
   * Every datagram already queued, then waits up to timeoutMs for one more if none was.
   * A full receive buffer (ENOBUFS) drops notifications: reported as `lost`, and the socket goes on.
   */
  poll(timeoutMs: number): PollResult {
    if (this.fd < 0) throw new Error("netlink subscription is closed");
    const result: PollResult = { changes: [], lost: false };
    let wait = timeoutMs;
    for (let received = 0; received < MAX_DATAGRAMS_PER_POLL; ) {
      let datagram: Buffer | null;
      try {
        datagram = native().netlinkRecvTimeout(this.fd, wait);
      } catch (err) {
        if ((err as { errno?: number }).errno !== ENOBUFS) throw err;
        result.lost = true;
        continue;
      }
      if (datagram === null) return result;
      result.changes.push(...decodeChanges(datagram));
      received++;
      wait = 0;
    }
    return result;
  }

  /** The socket, for waiting on it together with other fds (native pollReadable); -1 once closed. */
  get fileDescriptor(): number {
    return this.fd;
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    native().close(fd);
  }
}
