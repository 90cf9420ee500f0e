// The host end of a container's veth gets a name derived from the attachment, not a
// random one: a DEL (or a retry after a crashed ADD) finds it without any state, and
// two attachments never collide. 15 bytes is the kernel's limit.
import { shortDigest } from "../ip/digest";

export function hostVethName(containerId: string, ifName: string): string {
  return `veth${shortDigest(`${containerId}\0${ifName}`, 11)}`;
}
