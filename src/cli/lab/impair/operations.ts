// Changing a lab's links: set (replacing the link's previous impairment), reset, down/up.
// Each change goes to the kernel first, then the namespace's nftables table is rebuilt,
// then the queue process is brought in line, and the store is written last.
import { netnsExists, type Progress } from "../kernel";
import type { LabPlan } from "../plan";
import type { LabState } from "../state";
import { applyLinkKernel, clearLinkKernel, resolvePeer, setLinkState } from "./apply";
import { rebuildImpairTable } from "./nft";
import { syncQueueProcess } from "./queue-control";
import { type LinkImpairment, formatImpairment, isEmptyImpairment } from "./spec";
import {
  type ImpairStore,
  type LinkRecord,
  emptyImpairStore,
  readImpairStore,
  withImpairLock,
  writeImpairStore,
} from "./store";
import { resolveTarget } from "./targets";

export function loadStore(plan: LabPlan): ImpairStore {
  return readImpairStore(plan) ?? emptyImpairStore();
}

/** A record stays while it carries an impairment or a link that is down. */
function keep(store: ImpairStore, record: LinkRecord): void {
  if (isEmptyImpairment(record.impairment) && !record.down) delete store.links[record.target];
  else store.links[record.target] = record;
}

function rebuildTables(store: ImpairStore, namespaces: Iterable<string>): void {
  for (const netns of new Set(namespaces)) {
    if (!netnsExists(netns)) continue;
    rebuildImpairTable(
      netns,
      Object.values(store.links).filter((link) => link.netns === netns),
    );
  }
}

/** Applies several links' impairments (each replacing that link's previous one) in one go. */
export function setImpairments(
  state: LabState,
  impairments: Record<string, LinkImpairment>,
  progress: Progress,
): Promise<ImpairStore> {
  return withImpairLock(state.plan, () => setImpairmentsLocked(state, impairments, progress));
}

async function setImpairmentsLocked(
  state: LabState,
  impairments: Record<string, LinkImpairment>,
  progress: Progress,
): Promise<ImpairStore> {
  const { plan } = state;
  const store = loadStore(plan);
  const touched: string[] = [];
  for (const [targetText, impairment] of Object.entries(impairments)) {
    const target = resolveTarget(plan, targetText);
    const record = applyLinkKernel(store, target, impairment);
    keep(store, record);
    touched.push(target.netns);
    progress(`= ${target.name} (${target.netns}:${target.ifName}): ${formatImpairment(impairment)}`);
  }
  // Written now so a failure below leaves a store that says what the kernel holds.
  writeImpairStore(plan, store);
  rebuildTables(store, touched);
  await syncQueueProcess(plan, store, progress);
  return store;
}

/** Takes the links (all of them when no target is given) back to no impairment. Links stay down or up. */
export function resetImpairments(
  state: LabState,
  targetText: string | undefined,
  progress: Progress,
): Promise<ImpairStore> {
  return withImpairLock(state.plan, () => resetImpairmentsLocked(state, targetText, progress));
}

async function resetImpairmentsLocked(
  state: LabState,
  targetText: string | undefined,
  progress: Progress,
): Promise<ImpairStore> {
  const { plan } = state;
  const store = loadStore(plan);
  const records =
    targetText === undefined
      ? Object.values(store.links)
      : [store.links[resolveTarget(plan, targetText).name]].filter(
          (record): record is LinkRecord => record !== undefined,
        );
  for (const record of records) {
    if (!isEmptyImpairment(record.impairment)) progress(`- ${record.target}: ${formatImpairment(record.impairment)}`);
    if (netnsExists(record.netns)) clearLinkKernel(record);
    keep(store, record);
  }
  writeImpairStore(plan, store);
  rebuildTables(
    store,
    records.map((record) => record.netns),
  );
  await syncQueueProcess(plan, store, progress);
  return store;
}

/** `lab link down|up TARGET`: the far end's admin state, recorded so `show` and `up` know. */
export function setLinkUp(state: LabState, targetText: string, up: boolean, progress: Progress): Promise<void> {
  return withImpairLock(state.plan, () => setLinkUpLocked(state, targetText, up, progress));
}

function setLinkUpLocked(state: LabState, targetText: string, up: boolean, progress: Progress): void {
  const { plan } = state;
  const store = loadStore(plan);
  const target = resolveTarget(plan, targetText);
  const existing = store.links[target.name];
  const peer = existing?.peer ?? resolvePeer(target);
  const record: LinkRecord = existing ?? {
    target: target.name,
    netns: target.netns,
    ifName: target.ifName,
    ...(peer && { peer }),
    impairment: {},
    mechanisms: {},
  };
  const end = setLinkState(record, up);
  if (up) delete record.down;
  else record.down = true;
  keep(store, record);
  store.generation++;
  writeImpairStore(plan, store);
  progress(`${up ? "+" : "-"} ${target.name}: link ${up ? "up" : "down"} (${end.netns}:${end.ifName})`);
}
