import { describe, expect, it } from "vitest";
import { MemberSet, describeChange } from "../../../overlay/membership/members";
import type { HostLease } from "../../../overlay/membership/records";

const host = (hostId: string, subnet = "10.20.1.0/24"): HostLease => ({ hostId, underlayAddress: hostId, subnet });

describe("MemberSet", () => {
  it("reports joins, changes and leaves once each", () => {
    const members = new MemberSet();
    expect(members.put(host("198.18.0.1"), 5n)).toEqual([{ kind: "joined", lease: host("198.18.0.1") }]);
    expect(members.put(host("198.18.0.1"), 6n)).toEqual([]);
    expect(members.put(host("198.18.0.1", "10.20.2.0/24"), 7n)).toMatchObject([{ kind: "changed" }]);
    expect(members.delete("198.18.0.1", 8n)).toMatchObject([{ kind: "left" }]);
    expect(members.delete("198.18.0.1", 9n)).toEqual([]);
    expect(members.size).toBe(0);
  });

  it("never lets an older update undo a newer one", () => {
    const members = new MemberSet();
    members.put(host("a"), 10n);
    expect(members.put(host("a", "10.20.9.0/24"), 9n)).toEqual([]);
    members.delete("a", 12n);
    expect(members.put(host("a"), 11n)).toEqual([]);
    expect(members.put(host("a"), 13n)).toMatchObject([{ kind: "joined" }]);
  });

  it("a listing removes hosts it lacks, unless the watch saw them after the listing", () => {
    const members = new MemberSet();
    members.put(host("a"), 3n);
    members.put(host("b"), 4n);
    members.put(host("c"), 20n); // watch event newer than the listing below
    const changes = members.replaceAll(
      [
        { lease: host("b"), revision: 4n },
        { lease: host("d"), revision: 6n },
      ],
      10n,
    );
    expect(changes.map((change) => `${change.kind} ${change.lease.hostId}`)).toEqual(["left a", "joined d"]);
    expect(members.leases().map((lease) => lease.hostId)).toEqual(["b", "c", "d"]);
  });

  it("a listing older than a delete does not revive the host", () => {
    const members = new MemberSet();
    members.put(host("a"), 3n);
    members.delete("a", 15n);
    expect(members.replaceAll([{ lease: host("a"), revision: 3n }], 10n)).toEqual([]);
    expect(members.size).toBe(0);
  });

  it("describes a change in one line", () => {
    expect(describeChange({ kind: "left", lease: { ...host("h1"), vtepMac: "02:00:00:00:00:01" } })).toBe(
      "host left: h1 (underlay h1, subnet 10.20.1.0/24, vtep 02:00:00:00:00:01)",
    );
  });
});
