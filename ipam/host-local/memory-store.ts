// The in-memory lease store: the same contract as the disk store, for unit tests.
import { type Attachment, type Lease, type StoreSession, ownedBy } from "./store";

export class MemoryStore implements StoreSession {
  private readonly owners = new Map<string, Attachment>();
  private readonly last = new Map<number, string>();

  reserve(lease: Lease, rangeSetIndex: number): boolean {
    if (this.owners.has(lease.address)) return false;
    this.owners.set(lease.address, {
      containerId: lease.attachment.containerId.trim(),
      ifName: lease.attachment.ifName,
    });
    this.last.set(rangeSetIndex, lease.address);
    return true;
  }

  lastReserved(rangeSetIndex: number): string | undefined {
    return this.last.get(rangeSetIndex);
  }

  addressesOf(attachment: Attachment): string[] {
    return [...this.owners].filter(([, owner]) => ownedBy(owner, attachment)).map(([address]) => address);
  }

  release(attachment: Attachment, addresses?: readonly string[]): string[] {
    const released = this.addressesOf(attachment).filter((address) => !addresses || addresses.includes(address));
    for (const address of released) this.owners.delete(address);
    return released;
  }

  leases(): Lease[] {
    return [...this.owners].map(([address, attachment]) => ({ address, attachment: { ...attachment } }));
  }

  leasedAddresses(): string[] {
    return [...this.owners.keys()];
  }

  close(): void {}
}
