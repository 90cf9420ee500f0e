// GC and STATUS (CNI 1.1.0): the two commands that look at every lease of the network.
import * as fs from "node:fs";
import * as path from "node:path";
import { CniError, ErrorCode } from "../../src/cni/errors";
import { parseGcAttachments } from "../../src/cni/gc";
import { parseIp } from "./address";
import type { HostLocalConfig, HostLocalNetConf } from "./config";
import { capacityOf, rangeFor, rangeSetLabel } from "./range";
import { inSession } from "./session";
import type { Lease, OpenStore } from "./store";

/** Releases every lease whose attachment is not in the valid list (a legacy lease: whose container is not); returns them. */
export function collectGarbage(openStore: OpenStore, config: HostLocalConfig, netConf: HostLocalNetConf): Lease[] {
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

function nearestExistingDir(dir: string): string {
  let current = dir;
  while (!fs.existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

/**
 * Ready when an ADD could succeed: the network's directory (or where it would be
 * created) is writable, and no range set is full. Otherwise code 50 with the reason.
 */
export function checkStatus(openStore: OpenStore, config: HostLocalConfig): void {
  const networkDir = path.join(config.dataDir, config.network);
  const existing = nearestExistingDir(networkDir);
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (err) {
    throw new CniError(ErrorCode.PluginNotAvailable, `host-local: data directory ${existing} is not writable: ${(err as Error).message}`, "", { cause: err });
  }
  const leases = inSession(openStore, config, (store) => store.leases());
  config.rangeSets.forEach((rangeSet, index) => {
    const capacity = rangeSet.reduce((sum, range) => sum + capacityOf(range), 0n);
    let leased = 0n;
    for (const lease of leases) {
      const address = parseIp(lease.address);
      const range = address && rangeFor(rangeSet, address);
      if (address && range && !range.reserved.has(address.value)) leased++;
    }
    if (leased >= capacity) {
      throw new CniError(ErrorCode.PluginNotAvailable, `host-local: range set ${index} (${rangeSetLabel(rangeSet)}) is full: ${leased} of ${capacity} addresses leased`);
    }
  });
}
