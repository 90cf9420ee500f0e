// What a plugin may leave on a host, as plain comparable data: the host namespace's
// links, addresses, routes, permanent FDB and neighbour entries and nftables ruleset
// (seen through iproute2 and nft, never our codec), and the files the test's own calls
// can touch: the directories it handed them (dataDir, planted files), this host
// namespace's lock files, anything under /run/cnikit named after this host or this
// fixture, and the fixture's own namespace names. Nothing else of /run or /tmp: other
// suites and other trees' runs share them (a lab test's /run/cnikit/test-labs-*, left by
// a failed run or made by one running now, is none of this test's business).
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
  /** The other directories the test handed its calls, by name: `<dir>: <entry>`. */
  ownDirs: string[];
  /** This host namespace's lock files (attachment stripes left out, see below). */
  lockFiles: string[];
  /** Entries under /run/cnikit, outside the lock directory, named after this host's inode or the fixture. */
  strays: string[];
  /** The fixture's namespaces (/run/netns/<prefix>*), when the target names its prefix. */
  netns: string[];
}

export interface SnapshotTarget {
  host: NetnsRef & { path: string };
  dataDir: string;
  /** More directories the test made and hands its calls (planted files, scratch): compared by names. */
  ownDirs?: readonly string[];
  /** The fixture's prefix (`NetnsFixture.prefix`): its namespaces and files named after it are compared. */
  netnsPrefix?: string;
  /**
   * Compare the lock files' contents too. The data directory is compared by names only:
   * host-local may move its own cursor (last_reserved_ip) and index stamp on a failed
   * allocation, but never leave a lease or a new file.
   */
  contents?: boolean;
}

const RUN_DIR = "/run/cnikit";
const NETNS_DIR = "/run/netns";

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

/** Names (with a content digest when asked) of the lock directory's files of this host, stripes left out. */
function ownLockFiles(hostPath: string, contents: boolean): string[] {
  const inode = netnsInode(hostPath);
  // Attachment locks are a bounded set of stripes that fills as attachments come (by design,
  // README): which stripes exist says nothing about what a call left.
  const stripe = `${inode}-${ATTACHMENT_LOCK_PREFIX}`;
  return treeOf(DEFAULT_LOCK_DIR, contents, (name) => isLockFileOf(name, inode) && !name.startsWith(stripe));
}

/**
 * What our code could leave elsewhere in /run/cnikit: a file named as ours (a lock file in
 * the wrong place, a file named after the fixture's namespaces). Anything named otherwise
 * belongs to other suites and runs (labs, overlay agents, lab tests' test-labs-*).
 */
function strayFiles(hostPath: string, netnsPrefix: string | undefined): string[] {
  const inode = `${netnsInode(hostPath)}-`;
  const lockDir = path.relative(RUN_DIR, DEFAULT_LOCK_DIR);
  const named = (name: string) => name.startsWith(inode) || (netnsPrefix !== undefined && name.includes(netnsPrefix));
  return treeOf(RUN_DIR, false, (relative) => relative !== lockDir).filter((entry) =>
    named(path.basename(entry.replace(/\/$/, ""))),
  );
}

function fixtureNetns(netnsPrefix: string | undefined): string[] {
  if (netnsPrefix === undefined) return [];
  return fs
    .readdirSync(NETNS_DIR)
    .filter((name) => name.startsWith(netnsPrefix))
    .sort();
}

function kernelState(host: NetnsRef): Pick<HostSnapshot, "links" | "addrs" | "routes" | "fdb" | "neigh" | "nft"> {
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
  };
}

export function snapshotHost(target: SnapshotTarget): HostSnapshot {
  const { host, netnsPrefix } = target;
  return {
    ...kernelState(host),
    dataDir: treeOf(target.dataDir, false),
    ownDirs: (target.ownDirs ?? []).flatMap((dir) => treeOf(dir, false).map((entry) => `${dir}: ${entry}`)),
    lockFiles: ownLockFiles(host.path, target.contents ?? false),
    strays: strayFiles(host.path, netnsPrefix),
    netns: fixtureNetns(netnsPrefix),
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
