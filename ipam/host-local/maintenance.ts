// GC and STATUS (CNI 1.1.0): the two commands that look at every lease of the network.
import * as fs from "node:fs";
import * as path from "node:path";
import { threadId } from "node:worker_threads";
import { CniError, ErrorCode } from "../../src/cni/errors";
import { VALID_ATTACHMENTS_KEYS, parseGcAttachments } from "../../src/cni/gc";
import { parseIp } from "../../src/ip/address";
import type { HostLocalConfig, HostLocalNetConf } from "./config";
import { capacityOf, rangeFor, rangeSetLabel } from "./range";
import { inSession } from "./session";
import { createDataFile } from "./files";
import { type Lease, type OpenStore, leaseContent } from "./store";

/** Releases every lease whose attachment is not in the valid list (a legacy lease: whose container is not); returns them. */
export function collectGarbage(openStore: OpenStore, config: HostLocalConfig, netConf: HostLocalNetConf): Lease[] {
  // Without the list every lease would look stale: refuse rather than release them all.
  if (!VALID_ATTACHMENTS_KEYS.some((key) => Array.isArray(netConf[key]))) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `host-local: GC needs the ${VALID_ATTACHMENTS_KEYS.join(" or ")} list (an empty list releases every lease)`,
    );
  }
  const valid = parseGcAttachments(netConf);
  const validKeys = new Set(valid.map((attachment) => `${attachment.containerID}\n${attachment.ifname}`));
  const validContainers = new Set(valid.map((attachment) => attachment.containerID));
  const isValid = (lease: Lease): boolean =>
    lease.attachment.ifName === ""
      ? lease.attachment.containerId !== "" && validContainers.has(lease.attachment.containerId)
      : validKeys.has(`${lease.attachment.containerId}\n${lease.attachment.ifName}`);
  return inSession(openStore, config, (store) => {
    const stale = store.leases().filter((lease) => !isValid(lease));
    for (const lease of stale) store.release(lease.attachment, [lease.address]);
    return stale;
  });
}

/**
 * Proves the data directory can take a lease by writing one lease's worth of bytes to a
 * file in it (outside every network directory) and removing it: an empty file would be
 * created on a full filesystem too.
 */
function probeWritable(dataDir: string): void {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    const probe = path.join(dataDir, `.cnikit-status-probe.${process.pid}.${threadId}`);
    try {
      if (!createDataFile(probe, leaseContent({ containerId: "0".repeat(64), ifName: "eth0" })))
        throw new Error(`${probe} exists`);
    } finally {
      fs.rmSync(probe, { force: true });
    }
  } catch (err) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local: data directory ${dataDir} is not writable: ${(err as Error).message}`,
      "",
      { cause: err },
    );
  }
}

/**
 * Ready when an ADD could succeed: the data directory is writable and no range set
 * is full (ADD needs one address from every set). Otherwise code 50 with the reason.
 * Runtimes call STATUS often, so leases are counted by name, without reading them.
 */
export function checkStatus(openStore: OpenStore, config: HostLocalConfig): void {
  probeWritable(config.dataDir);
  const leased = inSession(openStore, config, (store) => store.leasedAddresses());
  config.rangeSets.forEach((rangeSet, index) => {
    const capacity = rangeSet.reduce((sum, range) => sum + capacityOf(range), 0n);
    let taken = 0n;
    for (const text of leased) {
      const address = parseIp(text);
      const range = address && rangeFor(rangeSet, address);
      if (address && range && !range.reserved.has(address.value)) taken++;
    }
    if (taken >= capacity) {
      throw new CniError(
        ErrorCode.PluginNotAvailable,
        `host-local: range set ${index} (${rangeSetLabel(rangeSet)}) is full: ${taken} of ${capacity} addresses leased`,
      );
    }
  });
}
