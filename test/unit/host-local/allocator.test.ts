import { describe, expect, it } from "vitest";
import { formatIp, parseIp } from "../../../src/ip/address";
import { allocateForAttachment, allocateFromRangeSet } from "../../../ipam/host-local/allocator";
import { MemoryStore } from "../../../ipam/host-local/memory-store";
import type { RangeSet } from "../../../ipam/host-local/range";
import type { Attachment } from "../../../ipam/host-local/store";
import { c1, rangeSet } from "./ranges";

function attachment(n: number): Attachment {
  return { containerId: `c${n}`, ifName: "eth0" };
}

/** Allocates for c0, c1, ... until the set is exhausted; returns the addresses in order. */
function drain(set: RangeSet, store = new MemoryStore()): string[] {
  const handed: string[] = [];
  for (let n = 0; n < 1000; n++) {
    try {
      handed.push(
        formatIp(allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: attachment(n) }).address),
      );
    } catch {
      return handed;
    }
  }
  throw new Error("never exhausted");
}

describe("which addresses a range hands out", () => {
  const cases: Array<{ name: string; set: RangeSet; expected: string[] }> = [
    {
      name: "/29: gateway .1, network .0 and broadcast .7 never",
      set: rangeSet("10.1.0.0/29"),
      expected: ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"],
    },
    {
      name: "explicit gateway is skipped",
      set: rangeSet({ subnet: "10.1.0.0/29", gateway: "10.1.0.3" }),
      expected: ["10.1.0.1", "10.1.0.2", "10.1.0.4", "10.1.0.5", "10.1.0.6"],
    },
    {
      name: "explicit start/end at network/broadcast: those are still never handed out",
      set: rangeSet({ subnet: "10.1.0.0/29", rangeStart: "10.1.0.0", rangeEnd: "10.1.0.7" }),
      expected: ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"],
    },
    {
      name: "rangeStart/rangeEnd bound the range",
      set: rangeSet({ subnet: "10.1.0.0/24", rangeStart: "10.1.0.100", rangeEnd: "10.1.0.102" }),
      expected: ["10.1.0.100", "10.1.0.101", "10.1.0.102"],
    },
    { name: "/30: one host address", set: rangeSet("10.1.0.0/30"), expected: ["10.1.0.2"] },
    { name: "/31: both addresses, no gateway", set: rangeSet("10.1.0.0/31"), expected: ["10.1.0.0", "10.1.0.1"] },
    {
      name: "/31 with a gateway: the other one",
      set: rangeSet({ subnet: "10.1.0.0/31", gateway: "10.1.0.0" }),
      expected: ["10.1.0.1"],
    },
    { name: "/32: its one address", set: rangeSet("10.1.0.9/32"), expected: ["10.1.0.9"] },
    {
      name: "/126: the last IPv6 address is usable (no broadcast)",
      set: rangeSet("fd00::/126"),
      expected: ["fd00::2", "fd00::3"],
    },
    { name: "/127: both", set: rangeSet("fd00::/127"), expected: ["fd00::", "fd00::1"] },
    { name: "/128: its one address", set: rangeSet("fd00::7/128"), expected: ["fd00::7"] },
    {
      name: "a set of two ranges: the second after the first",
      set: rangeSet("10.1.0.0/30", "10.2.0.0/30"),
      expected: ["10.1.0.2", "10.2.0.2"],
    },
  ];
  for (const { name, set, expected } of cases) it(name, () => expect(drain(set)).toEqual(expected));

  it("/31 and /32 results carry no gateway", () => {
    const allocation = allocateFromRangeSet({
      store: new MemoryStore(),
      rangeSet: rangeSet("10.1.0.0/31"),
      rangeSetIndex: 0,
      attachment: c1,
    });
    expect(allocation.gateway).toBeUndefined();
    expect(allocation.prefix).toBe(31);
  });
});

describe("round robin", () => {
  it("a released address is not handed out again until the set has been gone through", () => {
    const store = new MemoryStore();
    const set = rangeSet("10.1.0.0/29");
    const take = (n: number) =>
      formatIp(allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: attachment(n) }).address);
    expect([take(1), take(2)]).toEqual(["10.1.0.2", "10.1.0.3"]);
    store.release(attachment(1));
    expect(take(3)).toBe("10.1.0.4");
    expect([take(4), take(5)]).toEqual(["10.1.0.5", "10.1.0.6"]);
    expect(take(6)).toBe("10.1.0.2"); // wrapped around to the freed one
  });

  it("starts at the beginning when the last reserved address is outside the set", () => {
    const store = new MemoryStore();
    store.reserve({ address: "10.9.0.9", attachment: attachment(9) }, 0);
    expect(
      formatIp(
        allocateFromRangeSet({ store, rangeSet: rangeSet("10.1.0.0/29"), rangeSetIndex: 0, attachment: c1 }).address,
      ),
    ).toBe("10.1.0.2");
  });

  it("continues in the next range of the set after the last one reserved", () => {
    const store = new MemoryStore();
    const set = rangeSet("10.1.0.0/29", "10.2.0.0/29");
    store.reserve({ address: "10.1.0.6", attachment: attachment(9) }, 0);
    expect(formatIp(allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: c1 }).address)).toBe(
      "10.2.0.2",
    );
  });
});

describe("errors", () => {
  it("a full range set: code 100 naming the range", () => {
    const store = new MemoryStore();
    const set = rangeSet("10.1.0.0/30");
    allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: attachment(1) });
    expect(() => allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: attachment(2) })).toThrow(
      expect.objectContaining({ code: 100, message: expect.stringContaining("10.1.0.0/30") }),
    );
  });

  it("allocating again for an attachment that holds an address is refused", () => {
    const store = new MemoryStore();
    const set = rangeSet("10.1.0.0/29");
    allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: c1 });
    expect(() => allocateFromRangeSet({ store, rangeSet: set, rangeSetIndex: 0, attachment: c1 })).toThrow(
      /10\.1\.0\.2 is already allocated to container c1 interface eth0/,
    );
    // Another interface of the same container is another attachment.
    expect(
      formatIp(
        allocateFromRangeSet({
          store,
          rangeSet: set,
          rangeSetIndex: 0,
          attachment: { containerId: "c1", ifName: "eth1" },
        }).address,
      ),
    ).toBe("10.1.0.3");
  });
});

describe("requested addresses", () => {
  const set = rangeSet("10.1.0.0/24");
  const request = (store: MemoryStore, text: string, n = 1) =>
    allocateFromRangeSet({
      store,
      rangeSet: set,
      rangeSetIndex: 0,
      attachment: attachment(n),
      requested: parseIp(text)!,
    });

  it("is handed out when free", () =>
    expect(formatIp(request(new MemoryStore(), "10.1.0.77").address)).toBe("10.1.0.77"));

  it("taken, the gateway, or the broadcast address: code 101 naming the address", () => {
    const store = new MemoryStore();
    request(store, "10.1.0.77");
    expect(() => request(store, "10.1.0.77", 2)).toThrow(
      expect.objectContaining({ code: 101, message: expect.stringContaining("10.1.0.77 is already allocated") }),
    );
    expect(() => request(store, "10.1.0.1", 3)).toThrow(
      expect.objectContaining({ code: 101, message: expect.stringContaining("10.1.0.1 is the gateway") }),
    );
    expect(() => request(store, "10.1.0.255", 4)).toThrow(expect.objectContaining({ code: 101 }));
  });

  it("one that no range set holds: code 101, and nothing stays reserved", () => {
    const store = new MemoryStore();
    expect(() =>
      allocateForAttachment({ store, rangeSets: [set], attachment: c1, requested: [parseIp("10.9.0.1")!] }),
    ).toThrow(expect.objectContaining({ code: 101, message: expect.stringContaining("10.9.0.1") }));
    expect(store.leases()).toEqual([]);
  });
});

describe("one address per range set", () => {
  it("dual stack: one IPv4 and one IPv6, requested ones matched to their set", () => {
    const store = new MemoryStore();
    const allocations = allocateForAttachment({
      store,
      rangeSets: [rangeSet("10.1.0.0/24"), rangeSet("fd00::/64")],
      attachment: c1,
      requested: [parseIp("fd00::99")!],
    });
    expect(
      allocations.map((a) => `${formatIp(a.address)}/${a.prefix} via ${a.gateway && formatIp(a.gateway)}`),
    ).toEqual(["10.1.0.2/24 via 10.1.0.1", "fd00::99/64 via fd00::1"]);
  });

  it("a failure in a later set releases what the earlier sets reserved", () => {
    const store = new MemoryStore();
    const full = rangeSet("10.2.0.0/30");
    store.reserve({ address: "10.2.0.2", attachment: attachment(9) }, 1);
    expect(() =>
      allocateForAttachment({ store, rangeSets: [rangeSet("10.1.0.0/24"), full], attachment: c1, requested: [] }),
    ).toThrow(expect.objectContaining({ code: 100 }));
    expect(store.addressesOf(c1)).toEqual([]);
  });
});
