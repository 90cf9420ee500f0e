// A lab's impairments (lab/impair/store.ts) as the trace sees them: per link end, what
// is done to the packets a node sends into it, by which mechanism, and whether it can
// drop them all (loss 100%, link down) or only some.
import { IMPAIR_TABLE } from "../lab/impair/nft";
import { formatImpairment } from "../lab/impair/spec";
import { type LinkRecord, type Mechanism, readImpairStore } from "../lab/impair/store";
import type { LabPlan } from "../lab/plan";
import type { PathImpairment } from "./types";

const MECHANISM_WORDS: Record<Mechanism, string> = {
  netem: "netem qdisc",
  tbf: "tbf qdisc",
  "nft-loss": `nftables ip ${IMPAIR_TABLE}`,
  "nft-duplicate": `nftables ip ${IMPAIR_TABLE}`,
  nfqueue: "the lab's queue process (NFQUEUE)",
  mtu: "link MTU",
};

function describe(record: LinkRecord): PathImpairment[] {
  const found: PathImpairment[] = [];
  const { impairment, mechanisms } = record;
  const what = formatImpairment(impairment);
  if (what !== "none") {
    const mechanism = [...new Set(Object.values(mechanisms).map((each) => MECHANISM_WORDS[each]))].join(", ");
    const loss = impairment.lossPercent ?? 0;
    found.push({
      target: record.target,
      netns: record.netns,
      ifName: record.ifName,
      what,
      mechanism,
      total: loss >= 100,
      lossy: loss > 0,
    });
  }
  // `lab link down` sets the far end down: that is the end a packet can no longer cross.
  if (record.down) {
    const end = record.peer ?? record;
    found.push({
      target: record.target,
      netns: end.netns,
      ifName: end.ifName,
      what: "link down",
      mechanism: "lab link down",
      total: true,
      lossy: true,
    });
  }
  return found;
}

/** Every impairment of the lab, by the link end it acts on. */
export function labImpairments(plan: LabPlan): PathImpairment[] {
  const store = readImpairStore(plan);
  return store ? Object.values(store.links).flatMap(describe) : [];
}
