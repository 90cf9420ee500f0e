// The live set of hosts as this agent knows it. Updates come from two sources that can
// interleave (watch events, and a full listing after a reconnect), so every update
// carries its etcd revision and an older one never undoes a newer one.
import { type HostLease, describeHostLease, sameHostLease } from "./records";

export type MemberChange =
  | { kind: "joined"; lease: HostLease }
  | { kind: "changed"; lease: HostLease; before: HostLease }
  | { kind: "left"; lease: HostLease };

interface Entry {
  lease: HostLease;
  revision: bigint;
}

export class MemberSet {
  private readonly entries = new Map<string, Entry>();
  /** Revision at which a host's key was deleted: a listing older than it must not revive the host. */
  private readonly deletedAt = new Map<string, bigint>();

  get size(): number {
    return this.entries.size;
  }

  leases(): HostLease[] {
    return [...this.entries.values()].map((entry) => entry.lease).sort((a, b) => a.hostId.localeCompare(b.hostId));
  }

  get(hostId: string): HostLease | undefined {
    return this.entries.get(hostId)?.lease;
  }

  put(lease: HostLease, revision: bigint): MemberChange[] {
    const current = this.entries.get(lease.hostId);
    if (current && current.revision >= revision) return [];
    const deleted = this.deletedAt.get(lease.hostId);
    if (deleted !== undefined && deleted >= revision) return [];
    this.deletedAt.delete(lease.hostId);
    this.entries.set(lease.hostId, { lease, revision });
    if (!current) return [{ kind: "joined", lease }];
    if (sameHostLease(current.lease, lease)) return [];
    return [{ kind: "changed", lease, before: current.lease }];
  }

  delete(hostId: string, revision: bigint): MemberChange[] {
    const current = this.entries.get(hostId);
    if (current && current.revision >= revision) return [];
    this.deletedAt.set(hostId, revision);
    if (!current) return [];
    this.entries.delete(hostId);
    return [{ kind: "left", lease: current.lease }];
  }

  /**
   * A full listing taken at `revision`: hosts missing from it are gone unless something
   * newer than the listing (a watch event that overtook it) says otherwise.
   */
  replaceAll(listing: ReadonlyArray<{ lease: HostLease; revision: bigint }>, revision: bigint): MemberChange[] {
    const changes: MemberChange[] = [];
    const listed = new Set(listing.map((item) => item.lease.hostId));
    for (const [hostId, entry] of [...this.entries]) {
      if (!listed.has(hostId) && entry.revision <= revision) changes.push(...this.delete(hostId, revision));
    }
    for (const item of listing) changes.push(...this.put(item.lease, item.revision));
    // Tombstones older than a complete listing carry no information any more.
    for (const [hostId, deleted] of [...this.deletedAt])
      if (deleted <= revision && !listed.has(hostId)) this.deletedAt.delete(hostId);
    return changes;
  }
}

export function describeChange(change: MemberChange): string {
  switch (change.kind) {
    case "joined":
      return `host joined: ${describeHostLease(change.lease)}`;
    case "left":
      return `host left: ${describeHostLease(change.lease)}`;
    case "changed":
      return `host changed: ${describeHostLease(change.before)} -> ${describeHostLease(change.lease)}`;
  }
}
