// `cnikit lab netem show [TARGET]`: each link's impairments, the mechanism carrying each
// one on this kernel, and whether the kernel (or the queue process) really has it now.
import { Handle } from "../../../netlink/handle";
import { findLink } from "../../../netlink/links";
import { rootQdisc } from "../../../netlink/tc";
import { namedNetnsPath } from "../../../netns/netns";
import { formatTable, writeJson, writeStdout } from "../../output";
import { netnsExists } from "../kernel";
import type { LabState } from "../state";
import { IMPAIR_TABLE, NUMGEN_MOD, impairTableComments, ruleComment } from "./nft";
import { queueProcessRunning } from "./queue-control";
import { readQueueStatus } from "./queue-status";
import { type ImpairmentKey, impairmentEntries } from "./spec";
import { type ImpairStore, type LinkRecord, type Mechanism, readImpairStore } from "./store";
import { resolveTarget } from "./targets";

export interface MechanismView {
  impairment: ImpairmentKey | "link";
  value: string;
  mechanism: Mechanism | "link-state";
  detail: string;
  /** Found in place just now (qdisc, rule, queue served, MTU, link state). */
  active: boolean;
}

export interface LinkView {
  target: string;
  netns: string;
  ifName: string;
  peer?: { netns: string; ifName: string };
  state: "up" | "down";
  impairment: Partial<Record<ImpairmentKey, string>>;
  mechanisms: MechanismView[];
}

const KEY_OF: Record<ImpairmentKey, keyof LinkRecord["impairment"]> = {
  delay: "delayMs",
  jitter: "jitterMs",
  loss: "lossPercent",
  rate: "rateBitsPerSecond",
  corrupt: "corruptPercent",
  duplicate: "duplicatePercent",
  reorder: "reorderPercent",
  mtu: "mtu",
};

/** What the kernel holds for one namespace, read once per `show`. */
interface Observed {
  qdiscKind?: string;
  mtu?: number;
  peerUp?: boolean;
  comments?: string[];
}

function observe(record: LinkRecord): Observed {
  if (!netnsExists(record.netns)) return {};
  const handle = Handle.at(namedNetnsPath(record.netns));
  const observed: Observed = {};
  try {
    const link = findLink(handle, record.ifName);
    if (link) observed.mtu = link.mtu;
    if (link) observed.qdiscKind = rootQdisc(handle, record.ifName)?.kind;
  } finally {
    handle.close();
  }
  const stateEnd = record.peer ?? record;
  if (netnsExists(stateEnd.netns)) {
    const peerHandle = Handle.at(namedNetnsPath(stateEnd.netns));
    try {
      observed.peerUp = findLink(peerHandle, stateEnd.ifName)?.up;
    } finally {
      peerHandle.close();
    }
  }
  observed.comments = impairTableComments(record.netns) ?? [];
  return observed;
}

function describe(
  state: LabState,
  store: ImpairStore,
  record: LinkRecord,
  key: ImpairmentKey,
  observed: Observed,
): Pick<MechanismView, "detail" | "active"> {
  const mechanism = record.mechanisms[KEY_OF[key]];
  const value = record.impairment[KEY_OF[key]] ?? 0;
  switch (mechanism) {
    case "netem":
      return { detail: `netem qdisc on ${record.ifName}`, active: observed.qdiscKind === "netem" };
    case "tbf":
      return { detail: `tbf qdisc on ${record.ifName}`, active: observed.qdiscKind === "tbf" };
    case "nft-loss": {
      const threshold = Math.round(value * (NUMGEN_MOD / 100));
      const rule = threshold >= NUMGEN_MOD ? "drop" : `numgen random mod ${NUMGEN_MOD} < ${threshold} drop`;
      return {
        detail: `nftables ip ${IMPAIR_TABLE}: ${rule}`,
        active: observed.comments?.includes(ruleComment(record.ifName, "loss")) ?? false,
      };
    }
    case "nft-duplicate":
      return {
        detail: `nftables ip ${IMPAIR_TABLE}: dup to rt ip nexthop`,
        active: observed.comments?.includes(ruleComment(record.ifName, "duplicate")) ?? false,
      };
    case "nfqueue": {
      const served =
        readQueueStatus(state.plan)?.queues.some(
          (queue) => queue.netns === record.netns && queue.queue === record.queue,
        ) ?? false;
      const running = queueProcessRunning(state.plan, store);
      const active = running && served && (observed.comments?.includes(ruleComment(record.ifName, "queue")) ?? false);
      return {
        detail: `nfqueue ${record.queue}, queue process ${running ? `pid ${store.queue?.pid}` : "NOT RUNNING (packets pass unimpaired)"}`,
        active,
      };
    }
    case "mtu":
      return {
        detail: `link mtu${record.peer ? ` (and ${record.peer.netns}:${record.peer.ifName})` : ""}`,
        active: observed.mtu === value,
      };
    default:
      return { detail: "-", active: false };
  }
}

function viewOf(state: LabState, store: ImpairStore, record: LinkRecord): LinkView {
  const observed = observe(record);
  const entries = impairmentEntries(record.impairment);
  const mechanisms: MechanismView[] = entries.map(([key, value]) => ({
    impairment: key,
    value,
    mechanism: record.mechanisms[KEY_OF[key]] ?? "mtu",
    ...describe(state, store, record, key, observed),
  }));
  if (record.down) {
    const end = record.peer ?? record;
    mechanisms.push({
      impairment: "link",
      value: "down",
      mechanism: "link-state",
      detail: `${end.netns}:${end.ifName} set down`,
      active: observed.peerUp === false,
    });
  }
  return {
    target: record.target,
    netns: record.netns,
    ifName: record.ifName,
    ...(record.peer && { peer: record.peer }),
    state: record.down ? "down" : "up",
    impairment: Object.fromEntries(entries),
    mechanisms,
  };
}

export function showImpairments(state: LabState, targetText: string | undefined, options: { json?: boolean }): void {
  const store = readImpairStore(state.plan) ?? { version: 1 as const, links: {}, generation: 0 };
  let records = Object.values(store.links);
  if (targetText !== undefined) {
    const target = resolveTarget(state.plan, targetText);
    records = [
      store.links[target.name] ?? {
        target: target.name,
        netns: target.netns,
        ifName: target.ifName,
        impairment: {},
        mechanisms: {},
      },
    ];
  }
  const links = records.map((record) => viewOf(state, store, record));
  const netem =
    store.netem === undefined
      ? "not tried yet"
      : store.netem
        ? "yes"
        : "no (tbf, nftables and the queue process instead)";
  if (options.json) {
    writeJson({
      lab: state.plan.name,
      netem: store.netem ?? null,
      queueProcess: store.queue ? { pid: store.queue.pid, running: queueProcessRunning(state.plan, store) } : null,
      links,
    });
    return;
  }
  const rows = links.flatMap((link) =>
    link.mechanisms.length === 0
      ? [[link.target, `${link.netns}:${link.ifName}`, "none", "-", "-"]]
      : link.mechanisms.map((view) => [
          link.target,
          `${link.netns}:${link.ifName}`,
          `${view.impairment} ${view.value}`,
          view.detail,
          view.active ? "yes" : "NO",
        ]),
  );
  writeStdout(
    `lab ${state.plan.name}: kernel netem qdisc: ${netem}\n\n${rows.length > 0 ? formatTable(["LINK", "DEVICE", "IMPAIRMENT", "MECHANISM", "IN PLACE"], rows) : "no impairments"}`,
  );
}
