// What became of the live packet, from the path (what the kernel's state says), where
// the watchers saw it, and what the kernel said about it: delivered (with the time at
// every hop), or the last hop that saw it, where it went no further, and why.
import { IMPAIR_TABLE } from "../lab/impair/nft";
import type { IcmpReport, KernelDrop, LiveResult, NftDrop, PathImpairment, PathStep, TracePath } from "./types";

export interface StepView extends PathStep {
  /** Position in the path, from 1. */
  index: number;
  /** Milliseconds after the packet was first seen. */
  seenAtMs?: number;
  seen?: "in" | "out";
  impairments?: PathImpairment[];
}

export interface HopRef {
  step: number;
  node: string;
  kind: PathStep["kind"];
  ifName?: string;
  atMs?: number;
}

export interface TraceVerdict {
  delivered: boolean;
  /** Delivered: first sighting to the last. */
  totalMs?: number;
  lastSeen?: HopRef;
  /** Not delivered: the step it went no further than (its state, a rule, an impairment). */
  stoppedAt?: HopRef;
  /** Why, most telling first. */
  reasons: string[];
}

function ref(step: StepView): HopRef {
  return {
    step: step.index,
    node: step.node,
    kind: step.kind,
    ...(step.ifName !== undefined && { ifName: step.ifName }),
    ...(step.seenAtMs !== undefined && { atMs: step.seenAtMs }),
  };
}

const SEEN_AS: Partial<Record<PathStep["kind"], "in" | "out">> = { egress: "out", ingress: "in", decap: "in" };

/** The path with where the packet was seen (ms after its first sighting) and the impairments on each link. */
export function annotate(path: TracePath, live: LiveResult | undefined, impairments: PathImpairment[]): StepView[] {
  const sightings = [...(live?.sightings ?? [])].sort((a, b) => a.time - b.time);
  const start = sightings[0]?.time;
  return path.steps.map((step, position): StepView => {
    const view: StepView = { ...step, index: position + 1 };
    const direction = SEEN_AS[step.kind];
    const sighting =
      direction &&
      sightings.find(
        (each) =>
          each.netns === step.netns &&
          each.ifName === step.ifName &&
          each.direction === direction &&
          each.outer === (step.outer === true),
      );
    if (sighting && start !== undefined) {
      view.seen = sighting.direction;
      view.seenAtMs = Math.round((sighting.time - start) * 1e6) / 1e3;
    }
    const here =
      (step.kind === "egress" || step.kind === "ingress") &&
      impairments.filter((each) => each.netns === step.netns && each.ifName === step.ifName);
    if (here && here.length > 0) view.impairments = here;
    return view;
  });
}

export function describeIcmp(report: IcmpReport, family: 4 | 6): string {
  const v4: Record<string, string> = {
    "3:0": "network unreachable",
    "3:1": "host unreachable",
    "3:3": "port unreachable",
    "3:4": "fragmentation needed",
    "3:13": "administratively prohibited",
    "11:0": "time exceeded",
  };
  const v6: Record<string, string> = {
    "1:0": "no route",
    "1:1": "administratively prohibited",
    "1:3": "address unreachable",
    "1:4": "port unreachable",
    "2:0": "packet too big",
    "3:0": "time exceeded",
  };
  const name = (family === 6 ? v6 : v4)[`${report.type}:${report.code}`] ?? `type ${report.type} code ${report.code}`;
  return `ICMP ${name}${report.mtu !== undefined ? ` (mtu ${report.mtu})` : ""} from ${report.from}`;
}

function nftWords(drop: NftDrop): string {
  return `table ${drop.family} ${drop.table}, chain ${drop.chain}, ${drop.handle !== undefined ? `handle ${drop.handle}: ` : ""}${drop.rule} (verdict ${drop.verdict})`;
}

function kernelWords(drop: KernelDrop): string {
  const after = drop.lastDevice ? ` after ${drop.node ? `${drop.node}:` : ""}${drop.lastDevice}` : "";
  return `the kernel dropped it${after}: ${drop.reason} at ${drop.location} (skb:kfree_skb)`;
}

function breakWords(step: StepView): string {
  return `${step.node} ${step.kind}${step.ifName ? ` ${step.ifName}` : ""}: ${step.reason ?? step.detail} (${step.command})`;
}

/** ICMP errors about our packet, one line per error, with every place it was seen in time order. */
function icmpWords(reports: readonly IcmpReport[], family: 4 | 6, nodeOf: (netns: string) => string): string[] {
  const byError = new Map<string, IcmpReport[]>();
  for (const report of [...reports].sort((a, b) => a.time - b.time)) {
    const key = describeIcmp(report, family);
    byError.set(key, [...(byError.get(key) ?? []), report]);
  }
  return [...byError].map(
    ([words, seen]) => `${words}, seen at ${seen.map((each) => `${nodeOf(each.netns)}:${each.ifName}`).join(", ")}`,
  );
}

export function decide(steps: StepView[], live: LiveResult, family: 4 | 6): TraceVerdict {
  const seenSteps = steps.filter((step) => step.seenAtMs !== undefined);
  const last = seenSteps[seenSteps.length - 1];
  if (live.delivered) {
    return {
      delivered: true,
      ...(last?.seenAtMs !== undefined && { totalMs: last.seenAtMs }),
      ...(last && { lastSeen: ref(last) }),
      reasons: [],
    };
  }
  const lastIndex = last?.index ?? 0;
  const after = steps.filter((step) => step.index > lastIndex);
  const nodeOf = (netns: string): string => steps.find((step) => step.netns === netns)?.node ?? netns;
  const reasons: string[] = [];
  let stopped: StepView | undefined;
  const stopAt = (step: StepView | undefined): void => {
    stopped ??= step;
  };
  const breaks = steps.filter((step) => step.status === "break");
  if (live.notSent) {
    reasons.push(live.notSent);
    stopAt(breaks[0]);
  }
  if (live.sendError) {
    reasons.push(`the sender's kernel refused to send it: ${live.sendError}`);
    stopAt(steps[0]);
  }
  const impaired = after.find((step) => step.impairments?.some((each) => each.lossy));
  const usedImpairments = new Set<PathImpairment>();
  for (const drop of live.nftDrops) {
    const where = after.find((step) => step.netns === drop.netns) ?? steps.find((step) => step.netns === drop.netns);
    const impairment =
      drop.table === IMPAIR_TABLE
        ? impaired?.impairments?.find((each) => each.netns === drop.netns && each.lossy)
        : undefined;
    if (impairment) {
      usedImpairments.add(impairment);
      reasons.push(
        `lab impairment on ${impairment.target} (${nodeOf(impairment.netns)}:${impairment.ifName}): ${impairment.what}, carried by nftables: ${nftWords(drop)}`,
      );
      stopAt(impaired);
    } else {
      reasons.push(`nftables in ${nodeOf(drop.netns)} dropped it: ${nftWords(drop)}`);
      stopAt(where);
    }
  }
  // Refused at the source: the break that refused it is said already.
  const breakStep = live.notSent ? undefined : after.find((step) => step.status === "break");
  // A link that drops everything is the reason; one that drops some is a suspect, after a break if there is one.
  const suspects: string[] = [];
  for (const impairment of impaired?.impairments ?? []) {
    if (!impairment.lossy || usedImpairments.has(impairment)) continue;
    const words = `lab impairment on ${impairment.target} (${nodeOf(impairment.netns)}:${impairment.ifName}): ${impairment.what}, by ${impairment.mechanism}`;
    if (impairment.total || !breakStep) {
      reasons.push(words);
      stopAt(impaired);
    } else {
      suspects.push(words);
    }
  }
  if (breakStep) {
    reasons.push(breakWords(breakStep));
    stopAt(breakStep);
  }
  reasons.push(...suspects);
  // Breaks of another kind further on (a learned path MTU at the source is the echo of a small MTU there).
  const kindOf = (step: StepView | undefined): string =>
    step ? `${step.fault ?? ""}:${step.kind === "route" ? "route" : "link"}` : "";
  const told = new Set([kindOf(breakStep), ...(live.notSent ? [kindOf(breaks[0])] : [])]);
  for (const step of breaks
    .filter((each) => each.index > (stopped?.index ?? lastIndex) && !told.has(kindOf(each)))
    .slice(0, 3)) {
    told.add(kindOf(step));
    reasons.push(`further on, ${breakWords(step)}`);
  }
  for (const drop of live.kernelDrops) reasons.push(kernelWords(drop));
  reasons.push(...icmpWords(live.icmp, family, nodeOf));
  if (reasons.length === 0)
    reasons.push(
      last
        ? "nothing in the kernel's state, its rules or the lab's impairments explains it"
        : "it was seen on no interface of the path",
    );
  stopAt(after[0]);
  return {
    delivered: false,
    ...(last && { lastSeen: ref(last) }),
    ...(stopped && { stoppedAt: ref(stopped) }),
    reasons,
  };
}
