// The lab's own kernel objects, through our netlink codec (never `ip`): namespaces, the
// underlay switch and its ports, underlay addresses, forwarding, routes between hosts.
// Every step checks first, so running `lab up` again changes nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { addAddr } from "../../netlink/addrs";
import { isExists } from "../../netlink/codec/errors";
import { Handle } from "../../netlink/handle";
import { addBridge, addVeth } from "../../netlink/link-create";
import { findLink, setLink, setLinkUp } from "../../netlink/links";
import { replaceRoute } from "../../netlink/routes";
import { writeSysctl } from "../../netlink/sysctl";
import { checkNetnsPath, createNamedNetns, deleteNamedNetns, namedNetnsPath } from "../../netns/netns";
import type { HostPlan, LabPlan } from "./plan";
import { UNDERLAY_IF } from "./plan";
import { isLockFileOf, lockDir } from "../../plugin/lock-layout";

const SWITCH_BRIDGE = "sw0";

/** Says what each step did: "+" made, "=" already there, "-" removed. */
export type Progress = (line: string) => void;

/** Whether /run/netns/<name> is a namespace. */
export function netnsExists(name: string): boolean {
  try {
    checkNetnsPath(namedNetnsPath(name));
    return true;
  } catch {
    return false;
  }
}

function withHandle<T>(netnsName: string, work: (handle: Handle) => T): T {
  const handle = Handle.at(namedNetnsPath(netnsName));
  try {
    return work(handle);
  } finally {
    handle.close();
  }
}

/** A named namespace with lo up; an existing one is kept as it is. */
export function ensureNetns(name: string, what: string, progress: Progress): void {
  if (netnsExists(name)) {
    progress(`= ${what} ${name}`);
    return;
  }
  createNamedNetns(name);
  withHandle(name, (handle) => setLinkUp(handle, "lo"));
  progress(`+ ${what} ${name}`);
}

export function removeNetns(name: string, what: string, progress: Progress): void {
  if (!netnsExists(name)) return;
  removeLockFiles(name);
  deleteNamedNetns(name);
  progress(`- ${what} ${name}`);
}

/**
 * The plugins' per-host lock files are named after the host namespace's inode
 * (src/plugin/host-lock.ts); once the namespace is gone nothing can hold them.
 */
function removeLockFiles(name: string): void {
  const dir = lockDir(process.env.CNIKIT_LOCK_DIR);
  const inode = fs.statSync(namedNetnsPath(name)).ino;
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const file of files) if (isLockFileOf(file, inode)) fs.rmSync(path.join(dir, file), { force: true });
}

function addAddressOnce(handle: Handle, link: string, cidr: string): boolean {
  try {
    // An IPv6 underlay address is usable at once: every host's is planned, none can be a duplicate.
    addAddr(handle, { link, cidr, ...(cidr.includes(":") && { nodad: true }) });
    return true;
  } catch (err) {
    if (isExists(err)) return false;
    throw err;
  }
}

/** The switch namespace with its bridge, and per host a veth whose switch end is a bridge port. */
export function buildUnderlay(plan: LabPlan, underlayMtu: number, progress: Progress): void {
  ensureNetns(plan.switchNetns, "underlay switch", progress);
  withHandle(plan.switchNetns, (switchHandle) => {
    if (!findLink(switchHandle, SWITCH_BRIDGE)) addBridge(switchHandle, { name: SWITCH_BRIDGE, mtu: underlayMtu });
    setLinkUp(switchHandle, SWITCH_BRIDGE);
    for (const host of plan.etcd ? [...plan.hosts, plan.etcd] : plan.hosts) {
      ensureNetns(host.netns, "host", progress);
      if (!findLink(switchHandle, host.switchPort)) {
        // Born with its peer already inside the host: nothing ever appears in our own namespace.
        addVeth(switchHandle, {
          name: host.switchPort,
          peerName: UNDERLAY_IF,
          peerNetns: namedNetnsPath(host.netns),
          mtu: underlayMtu,
        });
        progress(`+ underlay link ${host.name}:${UNDERLAY_IF} <-> switch:${host.switchPort}`);
      }
      setLink(switchHandle, host.switchPort, { master: SWITCH_BRIDGE, up: true });
      withHandle(host.netns, (hostHandle) => {
        if (addAddressOnce(hostHandle, UNDERLAY_IF, `${host.underlayAddress}/${plan.underlayPrefixLength}`))
          progress(`+ ${host.name} underlay address ${host.underlayAddress}`);
        setLinkUp(hostHandle, UNDERLAY_IF);
      });
      // Hosts route between the bridge (or veths) and the underlay.
      writeSysctl(namedNetnsPath(host.netns), "net/ipv4/ip_forward", "1");
    }
  });
}

/** Each host reaches every other host's slice through that host's underlay address. */
export function routeSlicesBetweenHosts(plan: LabPlan, progress: Progress): void {
  for (const host of plan.hosts) {
    const others: HostPlan[] = plan.hosts.filter((other) => other !== host);
    withHandle(host.netns, (handle) => {
      for (const other of others) replaceRoute(handle, { dst: other.slice, gw: other.underlayAddress });
    });
    if (others.length > 0)
      progress(`= ${host.name} routes to ${others.map((other) => other.slice).join(", ")} over the underlay`);
  }
}
