// The namespaces of a lab, each with a subscription to its rtnetlink changes. Namespaces
// are found by name (`<lab>-...` in /run/netns), so one added while we run (a new
// container) is picked up too; its state at that moment is reported as `new` events,
// because a plugin usually configures it before we get to look.
import * as fs from "node:fs";
import { Handle } from "../../netlink/handle";
import { listAddrs } from "../../netlink/addrs";
import { listLinks } from "../../netlink/links";
import { type RtnlChange, Subscription } from "../../netlink/monitor";
import { listNeighs } from "../../netlink/neigh";
import { listRoutes } from "../../netlink/routes";
import { checkNetnsPath, namedNetnsPath } from "../../netns/netns";
import { listNamedNetns } from "../netns-cmd";
import { labNodes } from "../lab/nodes";
import { type LabState, listLabNames } from "../lab/state";
import { type EventFields, type LabEvent, type LinkNames, eventFields, trackLinkNames } from "./event";

interface WatchedNetns {
  netns: string;
  node: string;
  /** The namespace's inode: a different one under the same name is another namespace. */
  inode: number;
  subscription: Subscription;
  names: LinkNames;
  /** Changes already reported from the join-time dump, with when to forget them. */
  echoes: Map<string, number>;
}

/** How long a change reported from a dump is not reported again when its notification arrives. */
const ECHO_WINDOW_MS = 2000;

export type EmitEvent = (event: LabEvent) => void;
export type Warn = (line: string) => void;

export class LabNetnsWatcher {
  private readonly watched = new Map<string, WatchedNetns>();
  /** Namespaces we failed to watch: said once, not retried while they exist. */
  private readonly unwatchable = new Set<string>();
  private readonly labels: Map<string, string>;
  private readonly prefix: string;
  /** Other labs whose names start with ours plus '-': their namespaces are not ours. */
  private readonly otherPrefixes: string[];

  constructor(
    state: LabState,
    private readonly emit: EmitEvent,
    private readonly warn: Warn,
  ) {
    this.labels = new Map(labNodes(state).map((node) => [node.netns, node.label]));
    this.prefix = `${state.plan.name}-`;
    this.otherPrefixes = listLabNames()
      .filter((other) => other !== state.plan.name && other.startsWith(this.prefix))
      .map((other) => `${other}-`);
  }

  /** The widest node label of the plan, for lining up text output. */
  get nodeWidth(): number {
    return Math.max(0, ...[...this.labels.values()].map((label) => label.length));
  }

  get count(): number {
    return this.watched.size;
  }

  private belongs(netns: string): boolean {
    return netns.startsWith(this.prefix) && !this.otherPrefixes.some((other) => netns.startsWith(other));
  }

  /** Subscribes to namespaces that appeared and drops those that are gone. `announce`: report them as events. */
  rescan(announce: boolean): void {
    const present = new Set(listNamedNetns().filter((netns) => this.belongs(netns)));
    for (const [netns, watched] of this.watched) {
      if (present.has(netns) && inodeOf(netns) === watched.inode) continue;
      // What it announced before it went (a DEL's last addresses and links) is still queued.
      this.drain(watched, Date.now());
      // Our socket would keep a deleted namespace (and its veths) alive: let it go at once.
      watched.subscription.close();
      this.watched.delete(netns);
      this.emitEvent(watched, { kind: "netns", action: "del" });
    }
    for (const netns of this.unwatchable) if (!present.has(netns)) this.unwatchable.delete(netns);
    for (const netns of present) {
      if (!this.watched.has(netns) && !this.unwatchable.has(netns)) this.join(netns, announce);
    }
  }

  private join(netns: string, announce: boolean): void {
    const nsPath = namedNetnsPath(netns);
    // `ip netns add` creates the file before it mounts the namespace on it: not one yet, or
    // gone again already; the next round looks again.
    if (!isNetns(nsPath)) return;
    const inode = inodeOf(netns);
    if (inode === undefined) return;
    try {
      const subscription = Subscription.at(nsPath);
      const watched: WatchedNetns = {
        netns,
        node: this.labels.get(netns) ?? netns,
        inode,
        subscription,
        names: new Map(),
        echoes: new Map(),
      };
      this.watched.set(netns, watched);
      // Subscribed first, then read: a change in between shows in both, and the echo filter drops the second.
      const current = currentState(nsPath);
      for (const change of current) trackLinkNames(change, watched.names);
      if (!announce) return;
      this.emitEvent(watched, { kind: "netns", action: "new" });
      const forgetAt = Date.now() + ECHO_WINDOW_MS;
      for (const change of current) {
        const fields = eventFields(change, watched.names);
        watched.echoes.set(JSON.stringify(fields), forgetAt);
        this.emitEvent(watched, fields);
      }
    } catch (err) {
      // Gone between the check and the subscription, or unreadable: say so and move on.
      const existing = this.watched.get(netns);
      existing?.subscription.close();
      this.watched.delete(netns);
      this.unwatchable.add(netns);
      this.warn(`cannot watch ${netns}: ${(err as Error).message}`);
    }
  }

  /** Reads whatever each namespace has queued; returns how many events were emitted. */
  pollAll(): number {
    let emitted = 0;
    const now = Date.now();
    for (const watched of this.watched.values()) emitted += this.drain(watched, now);
    return emitted;
  }

  /** Emits what one namespace has queued (minus echoes of its initial state); returns how many. */
  private drain(watched: WatchedNetns, now: number): number {
    let emitted = 0;
    const { changes, lost } = watched.subscription.poll(0);
    if (lost) this.warn(`${watched.node}: the kernel dropped changes (receive buffer full); some were not reported`);
    for (const [key, forgetAt] of watched.echoes) if (forgetAt < now) watched.echoes.delete(key);
    for (const change of changes) {
      trackLinkNames(change, watched.names);
      const fields = eventFields(change, watched.names);
      const key = JSON.stringify(fields);
      if (watched.echoes.delete(key)) continue;
      this.emitEvent(watched, fields);
      emitted++;
    }
    return emitted;
  }

  closeAll(): void {
    for (const watched of this.watched.values()) watched.subscription.close();
    this.watched.clear();
  }

  private emitEvent(watched: WatchedNetns, fields: EventFields): void {
    this.emit({ time: new Date().toISOString(), node: watched.node, netns: watched.netns, ...fields });
  }
}

function isNetns(nsPath: string): boolean {
  try {
    checkNetnsPath(nsPath);
    return true;
  } catch {
    return false;
  }
}

function inodeOf(netns: string): number | undefined {
  try {
    return fs.statSync(namedNetnsPath(netns)).ino;
  } catch {
    return undefined;
  }
}

/** A namespace's links, addresses, routes (every table), neighbours and FDB, as `new` changes. */
function currentState(nsPath: string): RtnlChange[] {
  const handle = Handle.at(nsPath);
  try {
    return [
      ...listLinks(handle).map((link): RtnlChange => ({ kind: "link", action: "new", link })),
      ...listAddrs(handle).map((addr): RtnlChange => ({ kind: "addr", action: "new", addr })),
      ...listRoutes(handle, { table: "all" }).map((route): RtnlChange => ({ kind: "route", action: "new", route })),
      ...listNeighs(handle).map((neigh): RtnlChange => ({ kind: "neigh", action: "new", neigh })),
      ...listNeighs(handle, { family: "bridge" }).map((neigh): RtnlChange => ({ kind: "neigh", action: "new", neigh })),
    ];
  } finally {
    handle.close();
  }
}
