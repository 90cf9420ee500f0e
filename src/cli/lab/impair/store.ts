// A lab's impairments as set, what carries each one, and the queue process's pid:
// `<lab state dir>/impair.json`, next to the lab's other state, so `lab down` from any
// shell knows what to remove and whom to stop. Written atomically; the queue process
// re-reads it on SIGHUP.
import * as fs from "node:fs";
import * as path from "node:path";
import { LOCK_EX, LOCK_NB, native } from "../../../../native";
import { CliError } from "../../errors";
import type { LabPlan } from "../plan";
import type { LinkImpairment } from "./spec";
import type { LinkEnd } from "./targets";

/** How one impairment is carried out on this kernel. */
export type Mechanism = "netem" | "tbf" | "nft-loss" | "nft-duplicate" | "nfqueue" | "mtu";

export interface LinkRecord extends LinkEnd {
  target: string;
  /** The far end, once resolved (MTU changes and link down/up act on it too). */
  peer?: LinkEnd;
  impairment: LinkImpairment;
  /** Which mechanism carries each impairment key (delay -> "nfqueue", loss -> "netem"...). */
  mechanisms: Partial<Record<keyof LinkImpairment, Mechanism>>;
  /** The near end's ifindex, used as its NFQUEUE number (unique in its namespace). */
  queue?: number;
  /** MTUs before our first change, restored by reset. */
  originalMtu?: { near: number; peer?: number };
  /** Set by `lab link down` (the far end is down), cleared by `link up`. */
  down?: boolean;
}

export interface QueueProcessRecord {
  pid: number;
  startedAt: string;
}

export interface ImpairStore {
  version: 1;
  /** Whether the kernel has the netem qdisc: tried once, on the first impairment netem could carry. */
  netem?: boolean;
  links: Record<string, LinkRecord>;
  /** Bumped on every change, so the queue process can say which one it has loaded. */
  generation: number;
  queue?: QueueProcessRecord;
}

export function impairStoreFile(plan: Pick<LabPlan, "stateDir">): string {
  return path.join(plan.stateDir, "impair.json");
}

export function readImpairStore(plan: Pick<LabPlan, "stateDir">): ImpairStore | undefined {
  try {
    return JSON.parse(fs.readFileSync(impairStoreFile(plan), "utf8")) as ImpairStore;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${impairStoreFile(plan)}: ${(err as Error).message}`, { cause: err });
  }
}

export function emptyImpairStore(): ImpairStore {
  return { version: 1, links: {}, generation: 0 };
}

export function writeImpairStore(plan: Pick<LabPlan, "stateDir">, store: ImpairStore): void {
  const file = impairStoreFile(plan);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(store, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

export function removeImpairStore(plan: Pick<LabPlan, "stateDir">): void {
  fs.rmSync(impairStoreFile(plan), { force: true });
}

/** The links that send packets through the queue process. */
export function queuedLinks(store: ImpairStore): LinkRecord[] {
  return Object.values(store.links).filter(
    (link) => link.queue !== undefined && Object.values(link.mechanisms).includes("nfqueue"),
  );
}

const LOCK_WAIT_MS = 30_000;

/**
 * Runs `work` holding the lab's impairment lock, so two `lab netem` commands (or one and
 * `lab down`) never interleave their kernel changes and store writes. Waits 30 s at most.
 */
export async function withImpairLock<T>(
  plan: Pick<LabPlan, "stateDir" | "name">,
  work: () => Promise<T> | T,
): Promise<T> {
  fs.mkdirSync(plan.stateDir, { recursive: true });
  const fd = fs.openSync(path.join(plan.stateDir, "impair.lock"), "a");
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        native().flock(fd, LOCK_EX | LOCK_NB);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
        if (Date.now() > deadline)
          throw new CliError(
            `lab ${plan.name}: another cnikit command has been changing its impairments for ${LOCK_WAIT_MS / 1000}s`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return await work();
  } finally {
    fs.closeSync(fd);
  }
}
