// The host end of a container's veth gets a name derived from the attachment, not a
// random one: a DEL (or a retry after a crashed ADD) finds it without any state, and
// two attachments never collide. 15 bytes is the kernel's limit.
import { createHash } from "node:crypto";

export function hostVethName(containerId: string, ifName: string): string {
  const digest = createHash("sha256").update(`${containerId}\0${ifName}`).digest("hex");
  return `veth${digest.slice(0, 11)}`;
}
