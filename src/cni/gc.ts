// The attachments a GC config says are still in use. The 1.1.0 spec text named the key
// `cni.dev/attachments` while libcni sends `cni.dev/valid-attachments` (and both since
// the fix), so we read either.
import { CniError, ErrorCode } from "./errors";
import { showJson } from "./json-bounds";

export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export const VALID_ATTACHMENTS_KEYS = ["cni.dev/valid-attachments", "cni.dev/attachments"] as const;

/** The valid attachments of a GC config; code 7 naming the entry when one is malformed. */
export function parseGcAttachments(config: Record<string, unknown>): GcAttachment[] {
  const key = VALID_ATTACHMENTS_KEYS.find((candidate) => config[candidate] !== undefined && config[candidate] !== null);
  if (key === undefined) return [];
  const list = config[key];
  if (!Array.isArray(list)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid network config: ["${key}"] must be an array`,
      `got ${showJson(list)}`,
    );
  }
  return list.map((entry: unknown, index) => {
    const record = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const { containerID, ifname } = record;
    if (typeof containerID !== "string" || typeof ifname !== "string") {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `invalid network config: ["${key}"][${index}] must have string containerID and ifname`,
        `got ${showJson(entry)}`,
      );
    }
    return { containerID, ifname };
  });
}
