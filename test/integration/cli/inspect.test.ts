// `cnikit inspect --json` (our netlink codec) against `ip -j` / `bridge -j` on the same
// namespace, holding a bridge, veths, a VXLAN device with remote FDB entries, v4/v6
// addresses, a gateway route and static neighbours.
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, addrs, fdb, links, type neigh, routes } from "../../../netns-fixtures";
import { ipJson } from "../../../netns-fixtures/inspect";
import { runChecked } from "../../../netns-fixtures/ip";
import { cnikit, cnikitOk, expectOneLineFailure } from "./run-cli";

interface Snapshot {
  links: { index: number; name: string; kind?: string; mtu: number; mac: string; master?: string }[];
  addresses: { dev: string; family: 4 | 6; address: string; prefixLen: number; scope: string }[];
  routes: { dst: string; type: string; gateway?: string; dev?: string; protocol: string; scope: string }[];
  fdb: { mac: string; dev: string; master?: string; dst?: string; vlan?: number }[];
  neighbours: { dst: string; dev: string; lladdr?: string; state: string[] }[];
}

const fixture = new NetnsFixture();
let host: Netns;

function ip(ns: Netns, args: string): void {
  runChecked(["ip", "-n", ns.name, ...args.split(" ")]);
}

beforeAll(() => {
  host = fixture.hostNetns();
  const peer = fixture.containerNetns();
  ip(host, "link add br0 type bridge");
  ip(host, "link set br0 up");
  ip(host, `link add vh0 type veth peer name eth0 netns ${peer.name}`);
  ip(host, "link set vh0 master br0 up");
  ip(host, "link add ul0 type veth peer name ul1");
  ip(host, "link set ul0 up mtu 9000");
  ip(host, "addr add 198.18.0.1/24 dev ul0");
  ip(host, "addr add 10.40.0.1/24 dev br0");
  ip(host, "addr add fd40::1/64 dev br0 nodad");
  ip(host, "link add vx0 type vxlan id 42 local 198.18.0.1 dev ul0 dstport 4789 nolearning");
  ip(host, "link set vx0 master br0 up");
  runChecked(["bridge", "-n", host.name, "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "198.18.0.2"]);
  runChecked([
    "bridge",
    "-n",
    host.name,
    "fdb",
    "add",
    "02:00:00:00:00:07",
    "dev",
    "vx0",
    "dst",
    "198.18.0.3",
    "self",
    "permanent",
  ]);
  runChecked(["bridge", "-n", host.name, "fdb", "add", "02:00:00:00:00:08", "dev", "vh0", "master", "static"]);
  ip(host, "route add 10.41.0.0/16 via 10.40.0.254");
  ip(host, "route add 10.42.0.7 dev br0 proto static metric 50");
  ip(host, "route add default via 198.18.0.254");
  ip(host, "-6 route add fd41::/64 via fd40::fe");
  ip(host, "neigh add 10.40.0.9 lladdr 02:00:00:00:00:09 dev br0 nud permanent");
  ip(host, "neigh add fd40::9 lladdr 02:00:00:00:00:0a dev br0 nud permanent");
});
afterAll(() => fixture.cleanup());

const sortBy = <T>(items: T[]): T[] => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
/** A host route is "10.42.0.7" in ip -j and "10.42.0.7/32" in ours. */
const hostRoute = (dst: string): string => dst.replace(/\/(32|128)$/, "");
const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined && field !== "")) as T;

describe("cnikit inspect", () => {
  it("--json matches ip -j and bridge -j for the same namespace", () => {
    const ours = JSON.parse(cnikitOk(["inspect", "--json", host.name])) as Snapshot;

    const ipLinks = links(host).map((link) =>
      compact({
        index: link.ifindex,
        name: link.ifname,
        kind: link.linkinfo?.info_kind,
        mtu: link.mtu,
        mac: link.address,
        master: link.master,
      }),
    );
    expect(
      sortBy(
        ours.links.map((link) =>
          compact({
            index: link.index,
            name: link.name,
            kind: link.kind,
            mtu: link.mtu,
            mac: link.mac,
            master: link.master,
          }),
        ),
      ),
    ).toEqual(sortBy(ipLinks));
    expect(ours.links.find((link) => link.name === "vx0")).toMatchObject({
      vxlan: { vni: 42, local: "198.18.0.1", port: 4789, learning: false },
    });

    const ipAddrs = addrs(host).flatMap((link) =>
      link.addr_info.map((info) => ({
        dev: link.ifname,
        family: info.family === "inet" ? 4 : 6,
        address: info.local,
        prefixLen: info.prefixlen,
        scope: info.scope === "universe" ? "global" : info.scope,
      })),
    );
    expect(sortBy(ours.addresses)).toEqual(sortBy(ipAddrs));

    const ipRoutes = routes(host).map((route) =>
      compact({
        dst: hostRoute(route.dst),
        type: (route.type as string | undefined) ?? "unicast",
        gateway: route.gateway,
        dev: route.dev,
        protocol: route.protocol ?? "boot",
        scope: route.scope ?? "global",
      }),
    );
    const ourRoutes = ours.routes.map((route) =>
      compact({
        dst: hostRoute(route.dst),
        type: route.type,
        gateway: route.gateway,
        dev: route.dev,
        protocol: route.protocol,
        scope: route.scope,
      }),
    );
    expect(sortBy(ourRoutes)).toEqual(sortBy(ipRoutes));
    expect(ourRoutes).toContainEqual({
      dst: "default",
      type: "unicast",
      gateway: "198.18.0.254",
      dev: "ul0",
      protocol: "boot",
      scope: "global",
    });

    const ipFdb = (): unknown[] =>
      sortBy(
        fdb(host).map((entry) =>
          compact({ mac: entry.mac, dev: entry.ifname, master: entry.master, dst: entry.dst, vlan: entry.vlan }),
        ),
      );
    const ourFdb = (snapshot: Snapshot): unknown[] =>
      sortBy(
        snapshot.fdb.map((entry) =>
          compact({ mac: entry.mac, dev: entry.dev, master: entry.master, dst: entry.dst, vlan: entry.vlan }),
        ),
      );
    expect(ours.fdb).toContainEqual(
      expect.objectContaining({ mac: "00:00:00:00:00:00", dev: "vx0", dst: "198.18.0.2" }),
    );
    const ipNeighbours = (): unknown[] =>
      sortBy(
        ipJson<ReturnType<typeof neigh>>(host, ["neigh", "show", "nud", "all"]).map((entry) =>
          compact({ dst: entry.dst, dev: entry.dev, lladdr: entry.lladdr, state: [...entry.state].sort() }),
        ),
      );
    const ourNeighbours = (snapshot: Snapshot): unknown[] =>
      sortBy(
        snapshot.neighbours.map((entry) =>
          compact({ dst: entry.dst, dev: entry.dev, lladdr: entry.lladdr, state: [...entry.state].sort() }),
        ),
      );
    // Multicast FDB and neighbour entries appear on their own after links come up: compare
    // again until two views taken back to back agree, and fail on the last difference.
    let views = { ours: [ourFdb(ours), ourNeighbours(ours)], ip: [ipFdb(), ipNeighbours()] };
    for (let attempt = 0; attempt < 10 && JSON.stringify(views.ours) !== JSON.stringify(views.ip); attempt++) {
      runChecked(["sleep", "0.2"]);
      const again = JSON.parse(cnikitOk(["inspect", "--json", host.name])) as Snapshot;
      views = { ours: [ourFdb(again), ourNeighbours(again)], ip: [ipFdb(), ipNeighbours()] };
    }
    expect(views.ours).toEqual(views.ip);
  });

  it("prints readable tables by default", () => {
    const text = cnikitOk(["inspect", host.path]);
    for (const title of ["LINKS", "ADDRESSES", "ROUTES", "FDB", "NEIGHBOURS"])
      expect(text).toMatch(new RegExp(`^${title}$`, "m"));
    expect(text).toMatch(/^00:00:00:00:00:00\s+vx0\s+-\s+198\.18\.0\.2\s/m);
    expect(text).toMatch(/vx0\s+vxlan\s+.*vni 42, local 198\.18\.0\.1, port 4789, nolearning/);
    expect(text).toMatch(/^default\s+198\.18\.0\.254\s+ul0\s+boot/m);
    expect(text).toMatch(/^10\.40\.0\.9\s+br0\s+02:00:00:00:00:09\s+PERMANENT$/m);
    expect(text).not.toMatch(/^33:33:/m);
  });

  it("takes a relative path against the caller's working directory, as add does", () => {
    // Neighbour and FDB entries come and go on their own (IPv6 multicast as DAD and MLD run): compare the rest.
    const stable = (text: string) => {
      const { neighbours: _neighbours, fdb: _fdb, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    const byPath = stable(cnikitOk(["inspect", "--json", host.path]));
    const relative = `./${path.basename(host.path)}`;
    const fromRunNetns = stable(cnikitOk(["inspect", "--json", relative], { cwd: path.dirname(host.path) }));
    expect(Object.keys(byPath)).toEqual(["netns", "links", "addresses", "routes"]);
    expect(fromRunNetns).toEqual(byPath);
    // From elsewhere the same relative path names nothing: it is not looked up in /run/netns.
    expect(expectOneLineFailure(cnikit(["inspect", relative], { cwd: "/" }))).toMatch(/does not exist/);
  });

  it("refuses a missing namespace with one line", () => {
    expect(expectOneLineFailure(cnikit(["inspect", `${fixture.prefix}absent`]))).toMatch(
      /no namespace \/run\/netns\/\S+ and no lab named/,
    );
    expect(expectOneLineFailure(cnikit(["inspect", "/run/netns/absent-by-path"]))).toMatch(/does not exist/);
    expect(expectOneLineFailure(cnikit(["inspect"]))).toMatch(/missing required argument/);
  });
});
