// Deleting a link and going on once the kernel has unlisted it, not once it has freed it.
//
// A veth deletion is one DELLINK in which the kernel unlists both ends (their names are
// free again at once), runs every protocol's cleanup (the bridge port, FDB entries,
// addresses, routes and neighbours go), announces each end gone (RTM_DELLINK), and only
// then waits for RCU (synchronize_net, and rcu_barrier in netdev_run_todo) before it frees
// the devices and acks. Measured with perf here: the last announcement comes about 4 ms
// into a 15-18 ms call. So the request is sent on a thread of its own
// (Handle.requestDetached) while we watch a socket subscribed to link changes for the
// announcement of the end the kernel handles last; the thread's remaining wait is the
// function returned, which a daemon runs after it has answered (afterAnswer in
// src/cni/request-context.ts) and a standalone call at once.
import type { NetnsTarget } from "../../native";
import { native } from "../../native";
import { AttrWriter } from "./codec/attrs";
import { Rtm } from "./codec/constants";
import { awaitDetached, sendDetached, settleDetached, throwUnlessAcked } from "./detached";
import { type Handle, REPLY_TIMEOUT_MS } from "./handle";
import { type LinkRef, describeLink, linkRequestPayload } from "./links";
import { RtnlGrp, Subscription } from "./monitor";

/** The announcement after which the deletion is visible everywhere: `name` gone from `netns`. */
export interface Unlisted {
  netns: NetnsTarget;
  name: string;
}

/**
 * Deletes `ref` through `handle` (closed afterwards: its socket went to the thread) and
 * returns once `unlisted` is announced, or else once the kernel acked: `announced` says
 * which. `finish` is the rest of the wait (bounded; the ACK no longer matters then, the
 * link being gone). Missing: NotFoundError, as deleteLink.
 */
export function deleteLinkUnlisted(
  handle: Handle,
  ref: LinkRef,
  unlisted: Unlisted,
): { announced: boolean; finish: () => void } {
  const subscription = Subscription.at(unlisted.netns, [RtnlGrp.LINK]);
  try {
    const payload = linkRequestPayload(ref, {}, new AttrWriter());
    const request = sendDetached(handle, {
      type: Rtm.DELLINK,
      payload,
      op: `delete ${describeLink(ref)}`,
      deleting: true,
    });
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      // 0: the ACK (or its socket closed); -1: nothing in time; 1: link changes to look at.
      const ready = native().pollReadable([request.report, subscription.fileDescriptor], left);
      if (ready !== 1) {
        throwUnlessAcked(settleDetached(request, 0), request.spec);
        return { announced: false, finish: () => undefined };
      }
      const { changes, lost } = subscription.poll(0);
      if (changes.some((c) => c.kind === "link" && c.action === "del" && c.link.name === unlisted.name))
        return { announced: true, finish: () => void settleDetached(request, REPLY_TIMEOUT_MS) };
      // Lost notifications prove nothing: the ACK decides.
      if (lost) {
        awaitDetached(request, left);
        return { announced: false, finish: () => undefined };
      }
    }
  } finally {
    subscription.close();
  }
}
