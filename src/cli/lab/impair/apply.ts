// One link's impairment put in place, replacing whatever that link had: through the netem
// qdisc where the kernel has it, otherwise tbf for the rate, nftables for loss and
// duplication, and the lab's queue process for delay, jitter, reordering and corruption.
// The MTU is the link's own (both ends). Every qdisc and link change goes through our
// rtnetlink codec.
import { isNotFound, type NetlinkError } from "../../../netlink/codec/errors";
import { Handle } from "../../../netlink/handle";
import { getLink, setLink } from "../../../netlink/links";
import { deleteRootQdisc, replaceRootQdisc } from "../../../netlink/tc";
import { encodeNetemOptions } from "../../../netlink/tc-netem";
import { encodeTbfOptions } from "../../../netlink/tc-tbf";
import { namedNetnsPath } from "../../../netns/netns";
import { CliError } from "../../errors";
import type { LinkImpairment } from "./spec";
import type { ImpairStore, LinkRecord, Mechanism } from "./store";
import type { LinkEnd, LinkTarget } from "./targets";

/** How long tbf lets a packet wait before dropping it (sets its queue limit). */
const TBF_LATENCY_US = 50_000;

export function withHandle<T>(netns: string, work: (handle: Handle) => T): T {
  const handle = Handle.at(namedNetnsPath(netns));
  try {
    return work(handle);
  } finally {
    handle.close();
  }
}

/** The far end of a target's link, looked up in the kernel (a container's host veth by its peer index). */
export function resolvePeer(target: LinkTarget): LinkEnd | undefined {
  if (!target.peer) return undefined;
  if (target.peer.ifName) return { netns: target.peer.netns, ifName: target.peer.ifName };
  const peerIndex = withHandle(target.netns, (handle) => getLink(handle, target.ifName).parentIndex);
  if (peerIndex === undefined) return undefined;
  return {
    netns: target.peer.netns,
    ifName: withHandle(target.peer.netns, (handle) => getLink(handle, peerIndex).name),
  };
}

const NETEM_KEYS: (keyof LinkImpairment)[] = [
  "delayMs",
  "jitterMs",
  "lossPercent",
  "rateBitsPerSecond",
  "corruptPercent",
  "duplicatePercent",
  "reorderPercent",
];
const FALLBACK: Record<string, Mechanism> = {
  delayMs: "nfqueue",
  jitterMs: "nfqueue",
  reorderPercent: "nfqueue",
  corruptPercent: "nfqueue",
  lossPercent: "nft-loss",
  duplicatePercent: "nft-duplicate",
  rateBitsPerSecond: "tbf",
};

/** Which mechanism carries each impairment, netem or not. */
export function planMechanisms(impairment: LinkImpairment, netem: boolean): LinkRecord["mechanisms"] {
  const mechanisms: LinkRecord["mechanisms"] = {};
  for (const key of Object.keys(impairment) as (keyof LinkImpairment)[]) {
    if (impairment[key] === undefined) continue;
    mechanisms[key] = key === "mtu" ? "mtu" : netem ? "netem" : (FALLBACK[key] as Mechanism);
  }
  return mechanisms;
}

function netemOptionsOf(impairment: LinkImpairment): Buffer {
  return encodeNetemOptions({
    ...(impairment.delayMs && { delayUs: impairment.delayMs * 1000 }),
    ...(impairment.jitterMs && { jitterUs: impairment.jitterMs * 1000 }),
    ...(impairment.lossPercent && { lossPercent: impairment.lossPercent }),
    ...(impairment.duplicatePercent && { duplicatePercent: impairment.duplicatePercent }),
    ...(impairment.reorderPercent && { reorderPercent: impairment.reorderPercent }),
    ...(impairment.corruptPercent && { corruptPercent: impairment.corruptPercent }),
    ...(impairment.rateBitsPerSecond && { rateBytesPerSecond: impairment.rateBitsPerSecond / 8 }),
  });
}

function tbfOptionsOf(rateBitsPerSecond: number, mtu: number): Buffer {
  const rateBytesPerSecond = rateBitsPerSecond / 8;
  // 10 ms worth of traffic, and always room for two full frames (a smaller bucket drops them).
  const burstBytes = Math.max(Math.ceil(rateBytesPerSecond / 100), 2 * (mtu + 64));
  return encodeTbfOptions({ rateBytesPerSecond, burstBytes, latencyUs: TBF_LATENCY_US });
}

/** A kernel without CONFIG_NET_SCH_NETEM answers "Specified qdisc kind is unknown" (ENOENT). */
function isNetemMissing(err: unknown): boolean {
  const code = (err as NetlinkError).code;
  return (
    isNotFound(err) ||
    code === "EOPNOTSUPP" ||
    (code === "EINVAL" && /qdisc kind is unknown/i.test((err as NetlinkError).extack ?? ""))
  );
}

/**
 * Puts the netem qdisc on the link when the kernel has it; the first call per lab finds
 * out (CNIKIT_NETEM=off skips it, to exercise the fallback on a kernel that has netem).
 */
function tryNetem(store: ImpairStore, link: LinkEnd, impairment: LinkImpairment): boolean {
  if (process.env.CNIKIT_NETEM === "off") store.netem = false;
  if (store.netem === false) return false;
  try {
    withHandle(link.netns, (handle) =>
      replaceRootQdisc(handle, { link: link.ifName, kind: "netem", options: netemOptionsOf(impairment) }),
    );
    store.netem = true;
    return true;
  } catch (err) {
    if (store.netem === undefined && isNetemMissing(err)) {
      store.netem = false;
      return false;
    }
    throw new CliError(`cannot put netem on ${link.netns}:${link.ifName}: ${(err as Error).message}`, { cause: err });
  }
}

function setMtu(end: LinkEnd, mtu: number): void {
  withHandle(end.netns, (handle) => setLink(handle, end.ifName, { mtu }));
}

function currentMtu(end: LinkEnd): number {
  return withHandle(end.netns, (handle) => getLink(handle, end.ifName).mtu);
}

/** Sets the link's MTU (both ends), remembering the first MTUs; undefined restores them. */
function applyMtu(record: LinkRecord, mtu: number | undefined): void {
  if (mtu !== undefined) {
    record.originalMtu ??= { near: currentMtu(record), ...(record.peer && { peer: currentMtu(record.peer) }) };
    // Raising: the far end first, so neither end ever sends what the other drops.
    const ends =
      mtu > currentMtu(record) && record.peer ? [record.peer, record] : [record, ...(record.peer ? [record.peer] : [])];
    for (const end of ends) setMtu(end, mtu);
    return;
  }
  if (!record.originalMtu) return;
  setMtu(record, record.originalMtu.near);
  if (record.peer && record.originalMtu.peer !== undefined) setMtu(record.peer, record.originalMtu.peer);
  delete record.originalMtu;
}

/**
 * The qdisc and MTU part of a link's new impairment (the caller rebuilds the namespace's
 * nftables and syncs the queue process). Returns the updated record.
 */
export function applyLinkKernel(store: ImpairStore, target: LinkTarget, impairment: LinkImpairment): LinkRecord {
  const previous = store.links[target.name];
  const peer = previous?.peer ?? resolvePeer(target);
  const record: LinkRecord = {
    target: target.name,
    netns: target.netns,
    ifName: target.ifName,
    ...(peer && { peer }),
    impairment,
    mechanisms: {},
  };
  if (previous?.originalMtu) record.originalMtu = previous.originalMtu;
  if (previous?.down) record.down = true;
  const hadQdisc =
    previous !== undefined &&
    Object.values(previous.mechanisms).some((mechanism) => mechanism === "netem" || mechanism === "tbf");
  const needsQdisc = NETEM_KEYS.some((key) => impairment[key] !== undefined);
  const netem = needsQdisc && tryNetem(store, target, impairment);
  if (!netem && hadQdisc) withHandle(target.netns, (handle) => deleteRootQdisc(handle, target.ifName));
  record.mechanisms = planMechanisms(impairment, netem);
  if (!netem && impairment.rateBitsPerSecond) {
    const options = tbfOptionsOf(impairment.rateBitsPerSecond, impairment.mtu ?? currentMtu(target));
    withHandle(target.netns, (handle) => replaceRootQdisc(handle, { link: target.ifName, kind: "tbf", options }));
  }
  applyMtu(record, impairment.mtu);
  if (Object.values(record.mechanisms).includes("nfqueue"))
    record.queue = withHandle(target.netns, (handle) => getLink(handle, target.ifName).index);
  return record;
}

/** Takes a link's qdisc and MTU back to how they were (the netns may be gone: nothing to do). */
export function clearLinkKernel(record: LinkRecord): void {
  const hadQdisc = Object.values(record.mechanisms).some((mechanism) => mechanism === "netem" || mechanism === "tbf");
  try {
    if (hadQdisc) withHandle(record.netns, (handle) => deleteRootQdisc(handle, record.ifName));
    applyMtu(record, undefined);
  } catch (err) {
    if (!isNotFound(err) && (err as { code?: string }).code !== "ENOENT") throw err;
  }
  record.mechanisms = {};
  record.impairment = {};
  delete record.queue;
}

/** `lab link down|up`: the far end's admin state (the interface itself when the target has no far end). */
export function setLinkState(record: Pick<LinkRecord, "netns" | "ifName" | "peer">, up: boolean): LinkEnd {
  const end = record.peer ?? { netns: record.netns, ifName: record.ifName };
  withHandle(end.netns, (handle) => setLink(handle, end.ifName, { up }));
  return end;
}
