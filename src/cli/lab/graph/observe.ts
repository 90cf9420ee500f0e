// The kernel's word on each link the graph draws: its MTU now and whether it runs.
// One netlink socket per namespace, opened and closed within one build of the model,
// so a live page polling every second never holds a lab namespace open.
import { Handle } from "../../../netlink/handle";
import { listLinks } from "../../../netlink/links";
import { namedNetnsPath } from "../../../netns/netns";
import { netnsExists } from "../kernel";
import type { ObserveLink, ObservedLink } from "./model";

/** An ObserveLink that dumps each namespace's links once and answers from that. */
export function kernelObserver(): ObserveLink {
  const byNetns = new Map<string, Map<string, ObservedLink> | undefined>();
  const linksOf = (netns: string): Map<string, ObservedLink> | undefined => {
    if (byNetns.has(netns)) return byNetns.get(netns);
    let found: Map<string, ObservedLink> | undefined;
    if (netnsExists(netns)) {
      try {
        const handle = Handle.at(namedNetnsPath(netns));
        try {
          // Carrier counts: operstate UP, or UNKNOWN for devices that never report one.
          found = new Map(
            listLinks(handle).map((link) => [
              link.name,
              { mtu: link.mtu, running: link.up && (link.operstate === "UP" || link.operstate === "UNKNOWN") },
            ]),
          );
        } finally {
          handle.close();
        }
      } catch {
        // The namespace went away between the check and the dump: draw it as missing.
        found = undefined;
      }
    }
    byNetns.set(netns, found);
    return found;
  };
  return (netns, ifName) => linksOf(netns)?.get(ifName);
}
