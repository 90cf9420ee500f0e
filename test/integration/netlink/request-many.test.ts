// Handle.requestMany: many requests in datagrams of a window each, every ACK matched to
// its request; a NACK is returned for its request and the others still take effect.
import { describe, expect, it } from "vitest";
import { type Netns, routes } from "../../../netns-fixtures";
import { isExists, isNotFound } from "../../../src/netlink/codec/errors";
import type { Handle } from "../../../src/netlink/handle";
import { getLink } from "../../../src/netlink/links";
import { routeRequest } from "../../../src/netlink/routes";
import { netlinkHost } from "../../helpers/netlink-host";

let ns: Netns;
let h: Handle;
netlinkHost({
  veth: ["m0", "m0p"],
  ready: (made, handle) => {
    ns = made;
    h = handle;
  },
});

describe("Handle.requestMany", () => {
  it("adds 300 routes in windows of 64, and reports each request's NACK in place", () => {
    const oif = getLink(h, "m0").index;
    const add = (index: number) =>
      routeRequest(h, "add", { dst: `10.90.${index >> 8}.${index & 255}/32`, oif, scope: 253 });
    const specs = [
      ...Array.from({ length: 300 }, (_, index) => add(index)),
      add(7), // EEXIST: added above
      routeRequest(h, "delete", { dst: "10.91.0.1/32", oif }), // not there
      add(300),
    ];
    const results = h.requestMany(specs, 64);
    expect(results.slice(0, 300).every((result) => result === undefined)).toBe(true);
    expect(isExists(results[300])).toBe(true);
    expect(String(results[300]?.message)).toContain("10.90.0.7/32");
    expect(isNotFound(results[301])).toBe(true);
    expect(results[302]).toBeUndefined();
    expect(routes(ns, 4).filter((route) => route.dst.startsWith("10.90.")).length).toBe(301);
    expect(h.requestMany([])).toEqual([]);
  });
});
