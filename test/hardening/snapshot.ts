// What a plugin may leave on a host, as plain comparable data: the host namespace's
// links, addresses, routes, permanent FDB and neighbour entries and nftables ruleset
// (seen through iproute2 and nft, never our codec), the data directory, and the
// files under /run/cnikit that belong to this host namespace.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type NetnsRef, addrs, fdb, links, neigh, nsExec, routes } from "../../netns-fixtures";
import { ATTACHMENT_LOCK_PREFIX, DEFAULT_LOCK_DIR, isLockFileOf } from "../../src/plugin/lock-layout";

export interface HostSnapshot {
  links: string[];
  addrs: string[];
  routes: string[];
  fdb: string[];
  neigh: string[];
  nft: string;
  dataDir: string[];
  runFiles: string[];
}

export interface SnapshotTarget {
  host: NetnsRef & { path: string };
  dataDir: string;
  /**
   * Compare the contents of this host's files under /run/cnikit too. The data directory
   * is compared by names only: host-local may move its own cursor (last_reserved_ip)
   * and index stamp on a failed allocation, but never leave a lease or a new file.
   */
  contents?: boolean;
}

const RUN_DIR = "/run/cnikit";
/** Written by `cnikit lab` and `cnikit overlay agent`, never by a plugin. */
const CLI_RUN_DIRS = ["labs", "overlay"];

function treeOf(root: string, contents: boolean, keep: (relative: string) => boolean = () => true): string[] {
  const entries: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      const relative = path.relative(root, full);
      const stat = fs.lstatSync(full, { throwIfNoEntry: false });
      if (!stat || !keep(relative)) continue;
      if (stat.isDirectory()) {
        entries.push(`${relative}/`);
        walk(full);
      } else {
        const digest =
          contents && stat.isFile()
            ? ` ${createHash("sha256").update(fs.readFileSync(full)).digest("hex").slice(0, 12)}`
            : "";
        entries.push(`${relative}${digest}`);
      }
    }
  };
  walk(root);
  return entries.sort();
}

function isMulticastMac(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** The inode that names this namespace's lock files (`<inode>-<object>.lock`). */
export function netnsInode(netnsPath: string): number {
  return fs.statSync(netnsPath).ino;
}

function nftRuleset(host: NetnsRef): string {
  const listed = nsExec(host, ["nft", "-j", "list", "ruleset"]);
  if (listed.status !== 0) throw new Error(`nft list ruleset: ${listed.stderr}`);
  // Handles are allocation counters, not state.
  return listed.stdout.replace(/"handle":\s*\d+,?/g, "");
}

export function snapshotHost(target: SnapshotTarget): HostSnapshot {
  const { host } = target;
  const contents = target.contents ?? false;
  const inode = `${netnsInode(host.path)}-`;
  // Other runs on this machine lock their own namespaces, and the CLI keeps labs and
  // overlay agents here: only this host's lock files and new top-level entries are ours to judge.
  // Attachment locks are a bounded set of stripes that fills as attachments come (by design,
  // README): which stripes exist says nothing about what a call left.
  const ownRunFile = (relative: string) =>
    relative.startsWith("locks/")
      ? relative.startsWith(`locks/${inode}`) && !relative.startsWith(`locks/${inode}${ATTACHMENT_LOCK_PREFIX}`)
      : !CLI_RUN_DIRS.some((dir) => relative === dir || relative.startsWith(`${dir}/`));
  return {
    links: links(host)
      .map(
        (link) =>
          `${link.ifname} ${link.linkinfo?.info_kind ?? "-"} ${link.master ?? "-"} ${link.flags.includes("UP") ? "up" : "down"}`,
      )
      .sort(),
    addrs: addrs(host)
      .flatMap((link) => link.addr_info.map((info) => `${link.ifname} ${info.local}/${info.prefixlen}`))
      .sort(),
    routes: routes(host)
      .map((route) => `${route.dst} ${route.gateway ?? "-"} ${route.dev ?? "-"}`)
      .sort(),
    // Multicast entries follow the bridge's own IPv6 addresses (kernel-managed), not attachments.
    fdb: fdb(host)
      .filter(
        (entry) =>
          !isMulticastMac(entry.mac) &&
          (entry.state === "permanent" || entry.dst !== undefined || entry.flags.includes("self")),
      )
      .map((entry) => `${entry.mac} ${entry.ifname} ${entry.dst ?? "-"} ${entry.vlan ?? "-"} ${entry.state ?? "-"}`)
      .sort(),
    neigh: neigh(host)
      .filter((entry) => entry.state.includes("PERMANENT") || entry.state.includes("NOARP"))
      .map((entry) => `${entry.dst} ${entry.dev} ${entry.lladdr ?? "-"}`)
      .sort(),
    nft: nftRuleset(host),
    dataDir: treeOf(target.dataDir, false),
    runFiles: treeOf(RUN_DIR, contents, ownRunFile),
  };
}

/** The lock files of this host namespace (what stays after every attachment is gone). */
export function lockFilesOf(hostNetnsPath: string): string[] {
  const inode = netnsInode(hostNetnsPath);
  try {
    return fs
      .readdirSync(DEFAULT_LOCK_DIR)
      .filter((name) => isLockFileOf(name, inode))
      .sort();
  } catch {
    return [];
  }
}
