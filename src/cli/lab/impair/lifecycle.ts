// The two calls `lab up` and `lab down` make: the topology's impairments put in place
// once the containers are attached, and everything of ours (the queue process, the
// nftables tables) removed before the namespaces go.
import { describeFailure } from "../../errors";
import { netnsExists, type Progress } from "../kernel";
import type { LabState } from "../state";
import { removeImpairTable } from "./nft";
import { setImpairments } from "./operations";
import { queueProcessRunning, stopQueueProcess, syncQueueProcess } from "./queue-control";
import { queuedLinks, readImpairStore, removeImpairStore, withImpairLock } from "./store";

/**
 * First `up`: the topology's impairments. A later `up` keeps what `lab netem` changed
 * since, and only restarts the queue process if it is gone.
 */
export async function applyTopologyImpairments(state: LabState, progress: Progress): Promise<void> {
  const store = readImpairStore(state.plan);
  if (store) {
    if (queuedLinks(store).length > 0 && !queueProcessRunning(state.plan, store))
      await withImpairLock(state.plan, () => syncQueueProcess(state.plan, store, progress));
    return;
  }
  const impairments = state.topology.impairments ?? {};
  if (Object.keys(impairments).length === 0) return;
  await setImpairments(state, impairments, progress);
}

/** Stops the queue process and removes our tables; never throws (`down` goes on regardless). */
export async function removeLabImpairments(state: LabState, progress: Progress): Promise<void> {
  const { plan } = state;
  let store: ReturnType<typeof readImpairStore>;
  try {
    store = readImpairStore(plan);
  } catch (err) {
    progress(`! impairments: ${describeFailure(err)}`);
  }
  if (!store) return;
  // Not under the lock: a command stuck holding it must not keep the lab up.
  try {
    await stopQueueProcess(plan, store, progress);
  } catch (err) {
    progress(`! queue process: ${describeFailure(err)}`);
  }
  for (const netns of new Set(Object.values(store.links).map((link) => link.netns))) {
    try {
      if (netnsExists(netns)) removeImpairTable(netns);
    } catch (err) {
      progress(`! ${netns}: ${describeFailure(err)}`);
    }
  }
  removeImpairStore(plan);
  progress(`- impairments of lab ${plan.name}`);
}
