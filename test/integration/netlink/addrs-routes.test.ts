// Addresses and routes in a throwaway namespace, read back with `ip -j`.
import { describe, expect, it } from "vitest";
import { type Netns, addrs, ipJson, routes } from "../../../netns-fixtures";
import { RtScope } from "../../../src/netlink/codec/constants";
import { NotFoundError, isExists } from "../../../src/netlink/codec/errors";
import type { Handle } from "../../../src/netlink/handle";
import { addAddr, deleteAddr, listAddrs, replaceAddr } from "../../../src/netlink/addrs";
import { addRoute, deleteRoute, listRoutes, replaceRoute } from "../../../src/netlink/routes";
import { netlinkHost } from "../../helpers/netlink-host";

let ns: Netns;
let h: Handle;
netlinkHost({
  veth: ["d0", "d0p"],
  ready: (made, handle) => {
    ns = made;
    h = handle;
  },
});

const addrInfo = (local: string) =>
  addrs(ns)
    .flatMap((link) => link.addr_info.map((a) => ({ ...a, ifname: link.ifname })))
    .find((a) => a.local === local);

describe("addresses", () => {
  it("IPv4 with broadcast, IPv6 with nodad, a link-scoped one", () => {
    addAddr(h, { link: "d0", cidr: "10.10.0.2/24", broadcast: true });
    addAddr(h, { link: "d0", cidr: "fd00:10::2/64", nodad: true });
    addAddr(h, { link: "d0", cidr: "10.11.0.2/16", scope: RtScope.LINK });
    expect(addrInfo("10.10.0.2")).toMatchObject({
      ifname: "d0",
      family: "inet",
      prefixlen: 24,
      broadcast: "10.10.0.255",
      scope: "global",
    });
    expect(addrInfo("fd00:10::2")).toMatchObject({ family: "inet6", prefixlen: 64, nodad: true });
    expect(addrInfo("fd00:10::2")).not.toHaveProperty("tentative");
    expect(addrInfo("10.11.0.2")).toMatchObject({ prefixlen: 16, scope: "link" });
  });

  it("list agrees with ip", () => {
    const ours = listAddrs(h, { link: "d0" })
      .map((a) => a.cidr)
      .sort();
    const ip = addrs(ns)
      .filter((l) => l.ifname === "d0")
      .flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`))
      .sort();
    expect(ours).toEqual(ip);
    expect(listAddrs(h, { family: 6 }).every((a) => a.family === 6)).toBe(true);
  });

  it("EEXIST on a second add, replace passes", () => {
    let caught: unknown;
    try {
      addAddr(h, { link: "d0", cidr: "10.10.0.2/24" });
    } catch (err) {
      caught = err;
    }
    expect(isExists(caught)).toBe(true);
    replaceAddr(h, { link: "d0", cidr: "10.10.0.2/24", broadcast: true });
  });

  it("delete, then delete again is NotFoundError", () => {
    deleteAddr(h, { link: "d0", cidr: "10.11.0.2/16" });
    expect(addrInfo("10.11.0.2")).toBeUndefined();
    expect(() => deleteAddr(h, { link: "d0", cidr: "10.11.0.2/16" })).toThrow(NotFoundError);
    deleteAddr(h, { link: "d0", cidr: "fd00:10::2/64" });
    expect(() => deleteAddr(h, { link: "d0", cidr: "fd00:10::2/64" })).toThrow(NotFoundError);
    addAddr(h, { link: "d0", cidr: "fd00:10::2/64", nodad: true });
  });
});

describe("routes", () => {
  const find = (dst: string, family: 4 | 6 = 4, table = "main") => routes(ns, family, table).find((r) => r.dst === dst);

  it("via a gateway with metric, mtu and advmss", () => {
    addRoute(h, { dst: "10.20.0.0/16", gw: "10.10.0.1", priority: 50, mtu: 1300, advmss: 1200 });
    expect(find("10.20.0.0/16")).toMatchObject({
      gateway: "10.10.0.1",
      dev: "d0",
      metric: 50,
      metrics: [{ mtu: 1300, advmss: 1200 }],
    });
  });

  it("device route (scope link), onlink gateway, host route", () => {
    addRoute(h, { dst: "10.21.0.0/16", oif: "d0" });
    expect(find("10.21.0.0/16")).toMatchObject({ dev: "d0", scope: "link" });
    addRoute(h, { dst: "10.22.0.0/16", gw: "10.99.0.1", oif: "d0", onlink: true });
    expect(find("10.22.0.0/16")).toMatchObject({ gateway: "10.99.0.1", flags: expect.arrayContaining(["onlink"]) });
    addRoute(h, { dst: "10.23.0.1/32", oif: "d0", scope: RtScope.LINK });
    expect(find("10.23.0.1")).toMatchObject({ dev: "d0", scope: "link" });
  });

  it("default routes, v4 and v6", () => {
    addRoute(h, { dst: "default", gw: "10.10.0.1" });
    expect(find("default")).toMatchObject({ gateway: "10.10.0.1", dev: "d0" });
    addRoute(h, { dst: "default", gw: "fd00:10::1", oif: "d0" });
    expect(find("default", 6)).toMatchObject({ gateway: "fd00:10::1", dev: "d0" });
  });

  it("other tables, including one above 255", () => {
    addRoute(h, { dst: "10.30.0.0/16", oif: "d0", table: 100 });
    addRoute(h, { dst: "10.31.0.0/16", oif: "d0", table: 1000 });
    expect(find("10.30.0.0/16", 4, "100")).toMatchObject({ dev: "d0" });
    expect(find("10.31.0.0/16", 4, "1000")).toMatchObject({ dev: "d0" });
    expect(find("10.30.0.0/16")).toBeUndefined();
    expect(listRoutes(h, { table: 1000 }).map((r) => r.dst)).toEqual(["10.31.0.0/16"]);
  });

  it("replace changes the route in place", () => {
    replaceRoute(h, { dst: "10.20.0.0/16", gw: "10.10.0.3", priority: 50 });
    const same = routes(ns, 4).filter((r) => r.dst === "10.20.0.0/16");
    expect(same).toHaveLength(1);
    expect(same[0]?.gateway).toBe("10.10.0.3");
  });

  it("list agrees with ip (main table, both families)", () => {
    const key = (dst: string, gw?: string) => `${dst.replace(/\/(32|128)$/, "")} ${gw ?? "-"}`;
    const ours = listRoutes(h)
      .map((r) => key(r.dst, r.gw))
      .sort();
    const ip = routes(ns)
      .map((r) => key(r.dst, r.gateway))
      .sort();
    expect(ours).toEqual(ip);
    const v6 = listRoutes(h, { family: 6, oif: "d0" });
    expect(v6.some((r) => r.dst === "default" && r.gw === "fd00:10::1")).toBe(true);
  });

  it("delete, then NotFoundError", () => {
    deleteRoute(h, { dst: "10.21.0.0/16", oif: "d0" });
    expect(find("10.21.0.0/16")).toBeUndefined();
    expect(() => deleteRoute(h, { dst: "10.21.0.0/16", oif: "d0" })).toThrow(NotFoundError);
    deleteRoute(h, { dst: "10.31.0.0/16", table: 1000 });
    expect(ipJson<unknown[]>(ns, ["route", "show", "table", "1000"])).toEqual([]);
    deleteRoute(h, { dst: "default", family: 6 });
    expect(find("default", 6)).toBeUndefined();
  });
});
