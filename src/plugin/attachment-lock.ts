// One attachment (network + container id + ifname) is changed by one call at a time:
// ADD, DEL and CHECK take its lock first, before IPAM or any host lock, and hold it to
// the end. Without it a DEL could run in the gap between an ADD's lease and its veth
// (releasing the lease the ADD then reports), so racing calls ended half attached.
// Lock order: attachment, then IPAM's network lock, then a host object's; nothing takes
// an attachment lock while holding another lock, so there is no cycle.
import { shortDigest } from "../ip/digest";
import { withHostLock } from "./host-lock";
import { ATTACHMENT_LOCK_PREFIX, ATTACHMENT_LOCK_STRIPES } from "./lock-layout";

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

/** The stripe lock of an attachment: a bounded set of files, the same one for every call on it. */
export function attachmentLockName(key: AttachmentKey): string {
  const digest = shortDigest(JSON.stringify([key.network, key.containerId, key.ifName]), 8);
  return `${ATTACHMENT_LOCK_PREFIX}${Number.parseInt(digest, 16) % ATTACHMENT_LOCK_STRIPES}`;
}

export function withAttachmentLock<T>(
  netConf: { name: string },
  args: { containerId: string; ifName: string },
  body: () => Promise<T>,
): Promise<T> {
  return withHostLock(attachmentLockName({ network: netConf.name, ...args }), body);
}
