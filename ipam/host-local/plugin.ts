// host-local as PluginFuncs: main.ts runs it through the skel, and bridge/veth run it
// in-process when delegation finds this same executable on CNI_PATH.
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { CmdArgs, IPConfig, PluginFuncs, Result } from "../../src/cni/types";
import { formatIp, parseIp } from "../../src/ip/address";
import { type Allocation, allocateForAttachment } from "./allocator";
import { openDiskStore } from "./disk-store";
import { readResolvConf } from "./dns";
import { collectGarbage, checkStatus } from "./maintenance";
import { rangeFor, rangeSetLabel } from "./range";
import { inSession, loadConfig } from "./session";
import type { Attachment, OpenStore } from "./store";

function attachmentOf(args: CmdArgs): Attachment {
  return { containerId: args.containerId, ifName: args.ifName };
}

function ipConfigOf(allocation: Allocation): IPConfig {
  const ip: IPConfig = { address: `${formatIp(allocation.address)}/${allocation.prefix}` };
  if (allocation.gateway) ip.gateway = formatIp(allocation.gateway);
  return ip;
}

/** The plugin over any store (the disk store in production, the memory store in unit tests). */
export function makeHostLocal(openStore: OpenStore): PluginFuncs {
  return {
    async add(args) {
      const { config } = loadConfig(args, true);
      // Read before allocating, so that a bad resolvConf leaves no lease behind.
      const dns = config.resolvConf ? readResolvConf(config.resolvConf) : undefined;
      const allocations = inSession(openStore, config, (store) =>
        allocateForAttachment({
          store,
          rangeSets: config.rangeSets,
          attachment: attachmentOf(args),
          requested: config.requested,
        }),
      );
      const result: Result = { cniVersion: "1.1.0", ips: allocations.map(ipConfigOf), routes: config.routes };
      if (dns) result.dns = dns;
      return result;
    },

    async del(args) {
      const { config } = loadConfig(args, false);
      inSession(openStore, config, (store) => store.release(attachmentOf(args)));
    },

    async check(args) {
      const { config } = loadConfig(args, false);
      const held = inSession(openStore, config, (store) => store.addressesOf(attachmentOf(args)));
      config.rangeSets.forEach((rangeSet, index) => {
        const covered = held.some((text) => {
          const address = parseIp(text);
          return address !== undefined && rangeFor(rangeSet, address) !== undefined;
        });
        if (!covered) {
          throw new CniError(
            ErrorCode.UnknownContainer,
            `host-local: container ${args.containerId} interface ${args.ifName} holds no address of range set ${index} (${rangeSetLabel(rangeSet)}) in network ${config.network}`,
          );
        }
      });
    },

    async status(args) {
      checkStatus(openStore, loadConfig(args, false).config);
    },

    async gc(args) {
      const { netConf, config } = loadConfig(args, false);
      collectGarbage(openStore, config, netConf);
    },
  };
}

export const hostLocal: PluginFuncs = makeHostLocal(openDiskStore);
