import { describe, expect, it } from "vitest";
import {
  canonicalSubnet,
  chooseFreeSubnet,
  parsePoolConfig,
  samePool,
  subnetAt,
  subnetIndexOf,
  subnetsTakenAway,
} from "../../../overlay/membership/pool";

describe("parsePoolConfig", () => {
  it("applies flannel-like defaults: /24 subnets, the all-zeros subnet skipped", () => {
    const pool = parsePoolConfig(JSON.stringify({ network: "10.20.0.0/16" }));
    expect(pool.ipv4).toEqual({ family: 4, network: "10.20.0.0/16", subnetLen: 24, minIndex: 1n, maxIndex: 255n });
    expect(pool.ipv6).toBeUndefined();
  });

  it("accepts IPv6 alone and dual stack, with min and max", () => {
    const pool = parsePoolConfig(
      JSON.stringify({
        network: "10.20.0.0/16",
        subnetLen: 26,
        subnetMin: "10.20.1.0",
        subnetMax: "10.20.2.192",
        ipv6Network: "fd20::/48",
      }),
    );
    expect(pool.ipv4).toMatchObject({ subnetLen: 26, minIndex: 4n, maxIndex: 11n });
    expect(pool.ipv6).toMatchObject({ family: 6, network: "fd20::/48", subnetLen: 64, minIndex: 1n, maxIndex: 65535n });
    expect(parsePoolConfig(JSON.stringify({ ipv6Network: "fd20:0:0:0::/56", ipv6SubnetLen: 64 })).ipv6?.network).toBe(
      "fd20::/56",
    );
  });

  it.each([
    [{}, /needs "network"/],
    [{ network: "10.20.0.0" }, /network must be a CIDR/],
    [{ network: "fd20::/48" }, /network "fd20::\/48" is not an IPv4 CIDR/],
    [{ network: "10.20.0.0/16", subnetLen: 16 }, /subnetLen must be an integer in 17..30, got 16/],
    [{ network: "10.20.0.0/16", subnetMin: "10.20.1.5" }, /subnetMin "10.20.1.5" is not the start of a \/24/],
    [{ network: "10.20.0.0/16", subnetMin: "10.20.9.0", subnetMax: "10.20.3.0" }, /subnetMin is after subnetMax/],
  ])("refuses %j naming the field", (config, message) => {
    expect(() => parsePoolConfig(JSON.stringify(config))).toThrow(message);
  });

  it("refuses text that is not a JSON object", () => {
    expect(() => parsePoolConfig("nope")).toThrow(/not JSON/);
    expect(() => parsePoolConfig("[]")).toThrow(/JSON object/);
  });
});

describe("subnet numbering", () => {
  const pool = parsePoolConfig(JSON.stringify({ network: "10.20.0.0/16", ipv6Network: "fd20::/48" }));
  const ipv4 = pool.ipv4!;
  const ipv6 = pool.ipv6!;

  it("maps indexes to subnets and back", () => {
    expect(subnetAt(ipv4, 3n)).toBe("10.20.3.0/24");
    expect(subnetIndexOf(ipv4, "10.20.3.0/24")).toBe(3n);
    expect(subnetAt(ipv6, 258n)).toBe("fd20:0:0:102::/64");
    expect(subnetIndexOf(ipv6, "fd20:0:0:0102:0::/64")).toBe(258n);
  });

  it("rejects what is not one of the pool's subnets", () => {
    expect(subnetIndexOf(ipv4, "10.20.3.1")).toBeUndefined();
    expect(subnetIndexOf(ipv4, "10.20.3.0/25")).toBeUndefined();
    expect(subnetIndexOf(ipv4, "10.21.0.0/24")).toBeUndefined();
    expect(subnetIndexOf(ipv4, "10.20.0.0/24")).toBeUndefined(); // below subnetMin
    expect(subnetIndexOf(ipv4, "fd20::/64")).toBeUndefined();
    expect(canonicalSubnet(ipv6, "FD20:0:0:7::/64")).toBe("fd20:0:0:7::/64");
  });
});

describe("chooseFreeSubnet", () => {
  const ipv4 = parsePoolConfig(JSON.stringify({ network: "10.20.0.0/28", subnetLen: 30 })).ipv4!;
  const first = (): number => 0;

  it("skips taken subnets and prefers ones nobody reserved", () => {
    const taken = new Set(["10.20.0.4/30"]);
    expect(chooseFreeSubnet({ pool: ipv4, taken, reservedByOthers: new Set(["10.20.0.8/30"]), random: first })).toBe(
      "10.20.0.12/30",
    );
  });

  it("falls back to a subnet reserved by another host only when nothing else is free", () => {
    const taken = new Set(["10.20.0.4/30", "10.20.0.12/30"]);
    expect(chooseFreeSubnet({ pool: ipv4, taken, reservedByOthers: new Set(["10.20.0.8/30"]), random: first })).toBe(
      "10.20.0.8/30",
    );
  });

  it("answers undefined when the pool is exhausted", () => {
    const taken = new Set(["10.20.0.4/30", "10.20.0.8/30", "10.20.0.12/30"]);
    expect(chooseFreeSubnet({ pool: ipv4, taken, reservedByOthers: new Set() })).toBeUndefined();
  });

  it("spreads among the first free subnets and stops early in a huge pool", () => {
    const huge = parsePoolConfig(JSON.stringify({ ipv6Network: "fd00::/8", ipv6SubnetLen: 120 })).ipv6!;
    const picked = chooseFreeSubnet({
      pool: huge,
      taken: new Set(),
      reservedByOthers: new Set(),
      spread: 4,
      random: () => 0.99,
    });
    expect(picked).toBe(subnetAt(huge, 4n));
  });
});

describe("subnetsTakenAway and samePool", () => {
  const leases = [
    { hostId: "a", subnet: "10.60.1.0/24", ipv6Subnet: "fd10:60:0:1::/64" },
    { hostId: "b", subnet: "10.60.2.0/24" },
  ];
  const dual = { network: "10.60.0.0/22", subnetLen: 24, ipv6Network: "fd10:60::/48", ipv6SubnetLen: 64 };

  it("keeps every subnet when the network widens or subnetMax rises", () => {
    expect(subnetsTakenAway(parsePoolConfig(JSON.stringify({ ...dual, network: "10.60.0.0/16" })), leases)).toEqual([]);
    expect(subnetsTakenAway(parsePoolConfig(JSON.stringify(dual)), leases)).toEqual([]);
  });

  it("names the subnets a narrowed, re-cut or family-less pool takes away", () => {
    expect(subnetsTakenAway(parsePoolConfig(JSON.stringify({ ...dual, subnetMax: "10.60.1.0" })), leases)).toEqual([
      "10.60.2.0/24 of host b",
    ]);
    expect(subnetsTakenAway(parsePoolConfig(JSON.stringify({ ...dual, subnetLen: 25 })), leases)).toEqual([
      "10.60.1.0/24 of host a",
      "10.60.2.0/24 of host b",
    ]);
    expect(subnetsTakenAway(parsePoolConfig(JSON.stringify({ network: "10.60.0.0/22" })), leases)).toEqual([
      "fd10:60:0:1::/64 of host a",
    ]);
  });

  it("tells equal pools from different ones", () => {
    expect(samePool(parsePoolConfig(JSON.stringify(dual)), parsePoolConfig(JSON.stringify({ ...dual })))).toBe(true);
    expect(
      samePool(
        parsePoolConfig(JSON.stringify(dual)),
        parsePoolConfig(JSON.stringify({ ...dual, subnetMax: "10.60.2.0" })),
      ),
    ).toBe(false);
  });
});
