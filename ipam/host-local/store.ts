// What the allocator needs from a lease store. Two implementations: the disk store
// (the reference's layout, shared with the Go plugin) and an in-memory one for tests.
// A store is used inside one session that holds the network's lock from open to close.

/** One container interface: the pair a lease belongs to. */
export interface Attachment {
  containerId: string;
  ifName: string;
}

export interface Lease {
  /** The address as Go formats it (it is also the lease's file name). */
  address: string;
  attachment: Attachment;
}

export interface LeaseStore {
  /** Takes `lease.address` for its attachment; false when it is already taken. */
  reserve(lease: Lease, rangeSetIndex: number): boolean;
  /** The address last reserved from a range set (round-robin start), if known. */
  lastReserved(rangeSetIndex: number): string | undefined;
  addressesOf(attachment: Attachment): string[];
  /** Releases the attachment's leases (only `addresses` of them when given); returns what was released. */
  release(attachment: Attachment, addresses?: readonly string[]): string[];
  /** Every lease of the network, including ones whose owner cannot be read (empty containerId). */
  leases(): Lease[];
  /** The leased addresses only (cheaper than `leases()`: owners are not read). */
  leasedAddresses(): string[];
}

export interface StoreSession extends LeaseStore {
  /** Commits and releases the network lock. */
  close(): void;
}

export interface StoreLocation {
  dataDir: string;
  network: string;
}

export type OpenStore = (location: StoreLocation) => StoreSession;

/** The lease file's content, as the reference writes it. */
export function leaseContent(attachment: Attachment): string {
  return `${attachment.containerId.trim()}\r\n${attachment.ifName}`;
}

/**
 * Reads a lease file's content. Old reference versions wrote the container ID alone;
 * such a lease belongs to every interface of that container (ifName "").
 */
export function parseLeaseContent(content: string): Attachment {
  const text = content.trim();
  const lineBreak = text.indexOf("\r\n");
  if (lineBreak < 0) return { containerId: text, ifName: "" };
  return { containerId: text.slice(0, lineBreak).trim(), ifName: text.slice(lineBreak + 2).trim() };
}

/** True when a lease's owner is this attachment (a legacy lease matches any interface). */
export function ownedBy(owner: Attachment, attachment: Attachment): boolean {
  return (
    owner.containerId === attachment.containerId.trim() && (owner.ifName === attachment.ifName || owner.ifName === "")
  );
}
