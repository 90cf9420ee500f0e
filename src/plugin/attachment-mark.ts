// The container interface carries its attachment in its alias (IFLA_IFALIAS), set at
// ADD: "cnikit <digest> <network>/<container id>". A DEL deletes a container interface
// only when the mark is its own, so the DEL a runtime sends for a refused second
// attachment on the same netns + ifname leaves the first one's interface alone. The
// digest decides; the readable tail is for operators (`ip link` shows it).
import { shortDigest } from "../ip/digest";
import type { AttachmentKey } from "./attachment-lock";

const MARK_PREFIX = "cnikit ";
/** The kernel's IFALIASZ is 256 with the NUL. */
const MAX_ALIAS = 255;

function digestOf(key: AttachmentKey): string {
  return shortDigest(JSON.stringify([key.network, key.containerId, key.ifName]), 16);
}

export function attachmentMark(key: AttachmentKey): string {
  return `${MARK_PREFIX}${digestOf(key)} ${key.network}/${key.containerId}`.slice(0, MAX_ALIAS);
}

export type MarkVerdict = "ours" | "another attachment's" | "unmarked";

/** Whose interface this alias says it is. */
export function judgeMark(alias: string | undefined, key: AttachmentKey): MarkVerdict {
  if (alias === undefined || !alias.startsWith(MARK_PREFIX)) return "unmarked";
  return alias.slice(MARK_PREFIX.length).split(" ")[0] === digestOf(key) ? "ours" : "another attachment's";
}
