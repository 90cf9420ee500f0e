// Namespace ids (RTM_GETNSID): the number one namespace gives another, which is what a
// link's IFLA_LINK_NETNSID means. Needed to tell which namespace holds a veth's other end
// when several candidates have a link with the same index (labs built alike).
import { openNetns, closeNetns } from "../netns/netns";
import { AttrReader, AttrWriter } from "./codec/attrs";
import type { Handle } from "./handle";

const RTM_NEWNSID = 88;
const RTM_GETNSID = 90;
const NETNSA_NSID = 1;
const NETNSA_FD = 3;
/** struct rtgenmsg (one byte of family), padded to 4 as iproute2 sends it. */
const RTGENMSG_LEN = 4;

/** What `ip netns list` sends to learn a namespace's id: the namespace given by an open fd. */
export function getNsidPayload(netnsFd: number): Buffer {
  return Buffer.concat([Buffer.alloc(RTGENMSG_LEN), new AttrWriter().u32(NETNSA_FD, netnsFd).toBuffer()]);
}

/** The id the handle's namespace gives the namespace at `netnsPath`; undefined when it has none. */
export function netnsIdOf(h: Handle, netnsPath: string): number | undefined {
  const fd = openNetns(netnsPath);
  try {
    const replies = h.request({ type: RTM_GETNSID, payload: getNsidPayload(fd), op: `get nsid of ${netnsPath}` });
    const reply = replies.find((msg) => msg.type === RTM_NEWNSID);
    if (!reply) return undefined;
    const raw = new AttrReader(reply.payload.subarray(RTGENMSG_LEN)).u32(NETNSA_NSID);
    // NETNSA_NSID_NOT_ASSIGNED is -1.
    return raw === undefined || raw === 0xffffffff ? undefined : raw;
  } finally {
    closeNetns(fd);
  }
}
