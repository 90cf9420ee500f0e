// A container attachment's veth pair, made in one request from the host side with the
// container end born directly in the container's namespace under CNI_IFNAME, so no
// interface ever sits in the wrong namespace, even if we are killed half-way.
import { CniError, ErrorCode } from "../cni/errors";
import { afterAnswer } from "../cni/request-context";
import { randomLocalMac } from "../ip/digest";
import { isExists, isNotFound } from "../netlink/codec/errors";
import type { Handle } from "../netlink/handle";
import { addVeth } from "../netlink/link-create";
import type { Link } from "../netlink/link-decode";
import { deleteLinkUnlisted } from "../netlink/link-delete";
import { deleteLink, findLink, linkIndex, setLink } from "../netlink/links";
import { attachmentMark, judgeMark } from "./attachment-mark";
import { openContainerNetnsIfPresent, withHandle } from "./container-netns";
import { hostVethName } from "./host-veth-name";
import type { Rollback } from "./rollback";

export interface VethPairSpec {
  host: Handle;
  container: Handle;
  netns: string;
  /** The network's name: with the container id and ifname, the attachment the container end is marked with. */
  network: string;
  containerId: string;
  ifName: string;
  mtu?: number | undefined;
  /** The container end's MAC (see requestedMac); a random local one when absent. */
  mac?: string | undefined;
  /** The host end up and (masterIndex) a bridge port from its creating request on. */
  hostUp?: boolean;
  masterIndex?: number | undefined;
}

export interface VethPair {
  hostIfName: string;
  /**
   * Both MACs are chosen here, random and locally administered as the kernel's own, so
   * the result needs no request to learn them (measured with the other savings below).
   */
  hostMac: string;
  containerMac: string;
  /** The container end's index in its namespace (the kernel's echo of the creation, else a lookup). */
  containerIndex: number;
}

export function createVethPair(spec: VethPairSpec, rollback: Rollback): VethPair {
  const hostIfName = hostVethName(spec.containerId, spec.ifName);
  const containerMac = spec.mac ?? randomLocalMac();
  const hostMac = randomLocalMac();
  let created: ReturnType<typeof addVeth>;
  try {
    created = addVeth(spec.host, {
      name: hostIfName,
      mac: hostMac,
      peerName: spec.ifName,
      peerNetns: spec.netns,
      peerMac: containerMac,
      up: spec.hostUp,
      masterIndex: spec.masterIndex,
      ...(spec.mtu !== undefined && { mtu: spec.mtu }),
    });
  } catch (err) {
    // Either name may be taken (the request made nothing): which one is asked only now,
    // a lookup saved on every ADD that succeeds.
    if (isExists(err) && findLink(spec.container, spec.ifName))
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `CNI_IFNAME ${JSON.stringify(spec.ifName)} already exists in netns ${spec.netns}`,
        "",
        { cause: err },
      );
    if (isExists(err))
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `host interface ${hostIfName} for container ${spec.containerId} ${spec.ifName} already exists (DEL the earlier attachment first)`,
        "",
        { cause: err },
      );
    throw err;
  }
  // Deleting one end of a veth deletes both.
  rollback.push(`veth ${hostIfName}`, () => ignoreMissing(() => deleteLink(spec.host, hostIfName)));
  const containerIndex = created.peerIndex ?? linkIndex(spec.container, spec.ifName);
  // The kernel takes an alias only on a link that exists (not in the creating request).
  // arp_notify in the same request: the container end announces its address on link-up,
  // so neighbours drop stale ARP entries of a reused address (the reference sets it too).
  setLink(spec.container, containerIndex, { alias: attachmentMark(spec), arpNotify: true });
  return { hostIfName, hostMac, containerMac, containerIndex };
}

function ignoreMissing(step: () => void): void {
  try {
    step();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export interface VethPairTarget {
  host: Handle;
  netns: string;
  network: string;
  containerId: string;
  ifName: string;
}

/**
 * Whether the container's `ifName` is this attachment's: its mark says so, or, made by a
 * version that set none, it is a veth whose peer is our host end (the host end's name is
 * derived from container id + ifname, so only this attachment has it).
 */
function isOwnContainerEnd(link: Link, target: VethPairTarget): boolean {
  const verdict = judgeMark(link.alias, target);
  if (verdict !== "unmarked") return verdict === "ours";
  const hostEnd = findLink(target.host, hostVethName(target.containerId, target.ifName));
  return link.kind === "veth" && hostEnd !== undefined && link.parentIndex === hostEnd.index;
}

/** DEL: removes the pair from whichever side still exists, never another attachment's interface. Missing is success. */
export function removeVethPair(target: VethPairTarget): void {
  const hostEnd = hostVethName(target.containerId, target.ifName);
  const container = openContainerNetnsIfPresent(target.netns);
  let hostEndGone = false;
  if (container)
    withHandle(container, (handle) => {
      const link = findLink(handle, target.ifName);
      if (!link || !isOwnContainerEnd(link, target)) return;
      // Done once the host end (the kernel unlists both ends and handles the peer last) is
      // announced gone; the kernel's RCU wait finishes after the answer (link-delete.ts).
      ignoreMissing(() => {
        const deletion = deleteLinkUnlisted(handle, link.index, { netns: target.host.netns, name: hostEnd });
        hostEndGone = deletion.announced;
        afterAnswer(deletion.finish);
      });
    });
  if (!hostEndGone) ignoreMissing(() => deleteLink(target.host, hostEnd));
}
