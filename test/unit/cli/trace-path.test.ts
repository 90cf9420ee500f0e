// The path walk of `cnikit trace` over a made-up kernel view: two containers on one
// host's bridge, and a host with a VTEP. Each fault is a break at its step, for its
// reason, and the rest of the path is still walked (marked assumed) where it can be.
import { describe, expect, it } from "vitest";
import type { Addr } from "../../../src/netlink/addrs";
import type { Link } from "../../../src/netlink/link-decode";
import type { Neigh } from "../../../src/netlink/neigh";
import type { RouteLookup, RouteQuery } from "../../../src/netlink/route-get";
import type { KernelView, LinkAt, NetnsState, RouteFailure } from "../../../src/cli/trace/kernel-view";
import { tracePath } from "../../../src/cli/trace/path";
import type { TraceEndpoint, TracePacket } from "../../../src/cli/trace/types";

interface FakeNetns {
  links: Link[];
  neighbours?: Neigh[];
  fdb?: Neigh[];
  addresses?: Partial<Addr>[];
  route: (query: RouteQuery) => RouteLookup | RouteFailure;
  forwarding?: boolean;
}

const UP = 0x1;
const link = (fields: Partial<Link> & Pick<Link, "index" | "name">): Link => ({
  mtu: 1500,
  mac: "",
  flags: UP,
  up: true,
  operstate: "UP",
  ...fields,
});
const unicast = (oif: number, extra: Partial<RouteLookup> = {}): RouteLookup => ({
  family: 4,
  dst: "x/32",
  scope: 0,
  table: 254,
  protocol: 0,
  type: 1,
  onlink: false,
  oif,
  ...extra,
});
const local = (): RouteLookup => ({
  family: 4,
  dst: "x/32",
  scope: 0,
  table: 255,
  protocol: 0,
  type: 2,
  onlink: false,
  oif: 1,
});
const unreachable: RouteFailure = { code: "ENETUNREACH", message: "network is unreachable" };

class FakeView implements KernelView {
  constructor(
    readonly spaces: Record<string, FakeNetns>,
    /** Pairs of veth ends: [netns, ifName]. */
    private readonly veths: [[string, string], [string, string]][],
    private readonly serving: string | undefined = undefined,
  ) {}

  state(netns: string): NetnsState {
    const space = this.spaces[netns];
    if (!space) throw new Error(`no namespace ${netns}`);
    return {
      links: space.links,
      neighbours: space.neighbours ?? [],
      fdb: space.fdb ?? [],
      addresses: (space.addresses ?? []) as Addr[],
      forwarding: () => space.forwarding ?? true,
      routeGet: space.route,
    };
  }

  labelOf(netns: string): string {
    return netns;
  }

  vethPeer(netns: string, of: Link): LinkAt | undefined {
    for (const [a, b] of this.veths) {
      const [near, far] =
        a[0] === netns && a[1] === of.name
          ? [a, b]
          : b[0] === netns && b[1] === of.name
            ? [b, a]
            : [undefined, undefined];
      if (near && far) {
        const peer = this.spaces[far[0]]?.links.find((each) => each.name === far[1]);
        return peer && { netns: far[0], link: peer };
      }
    }
    return undefined;
  }

  ownerOfAddress(address: string): LinkAt | undefined {
    for (const [netns, space] of Object.entries(this.spaces)) {
      const held = space.addresses?.find((each) => each.address === address);
      const holder = held && space.links.find((each) => each.index === held.index);
      if (holder) return { netns, link: holder };
    }
    return undefined;
  }

  vtepServing(): string | undefined {
    return this.serving;
  }
}

const M1 = "02:00:00:00:00:01";
const M2 = "02:00:00:00:00:02";
const from: TraceEndpoint = { label: "c1", netns: "c1", netnsPath: "/run/netns/c1", address: "10.0.1.2" };
const to: TraceEndpoint = { label: "c2", netns: "c2", netnsPath: "/run/netns/c2", address: "10.0.1.3" };
const udp = (size = 100): TracePacket => ({ proto: "udp", family: 4, port: 33434, size });

/** c1 and c2 on the bridge br0 of host h (vethA, vethB). */
function oneHost(change: (spaces: Record<string, FakeNetns>) => void = () => undefined): FakeView {
  const spaces: Record<string, FakeNetns> = {
    c1: {
      links: [link({ index: 2, name: "eth0", kind: "veth", mac: M1, mtu: 1450 })],
      neighbours: [{ index: 2, family: 4, dst: "10.0.1.3", lladdr: M2, state: 0x02, flags: 0 }],
      route: (query) => (query.dst === "10.0.1.3" ? unicast(2) : unreachable),
    },
    h: {
      links: [
        link({ index: 3, name: "br0", kind: "bridge", mac: "02:00:00:00:00:0b" }),
        link({ index: 5, name: "vethA", kind: "veth", masterIndex: 3, mtu: 1450 }),
        link({ index: 6, name: "vethB", kind: "veth", masterIndex: 3, mtu: 1450 }),
      ],
      fdb: [{ index: 6, family: "bridge", lladdr: M2, state: 0x02, flags: 0x04, master: 3 }],
      route: () => unreachable,
    },
    c2: {
      links: [link({ index: 2, name: "eth0", kind: "veth", mac: M2, mtu: 1450 })],
      addresses: [{ index: 2, address: "10.0.1.3" }],
      route: () => local(),
    },
  };
  change(spaces);
  return new FakeView(spaces, [
    [
      ["c1", "eth0"],
      ["h", "vethA"],
    ],
    [
      ["h", "vethB"],
      ["c2", "eth0"],
    ],
  ]);
}

const kinds = (view: FakeView, packet = udp()): string[] =>
  tracePath(view, from, to, packet).steps.map(
    (step) => `${step.netns} ${step.kind}${step.ifName && step.kind !== "neighbour" ? ` ${step.ifName}` : ""}`,
  );

describe("tracePath over one bridge", () => {
  it("walks route, neighbour, the veth, the bridge's FDB, the other veth, down to the socket", () => {
    expect(kinds(oneHost())).toEqual([
      "c1 route",
      "c1 neighbour",
      "c1 egress eth0",
      "h ingress vethA",
      "h bridge br0",
      "h egress vethB",
      "c2 ingress eth0",
      "c2 deliver",
    ]);
    const path = tracePath(oneHost(), from, to, udp());
    expect(path.reachesDestination).toBe(true);
    expect(path.steps.every((step) => step.status === "ok" && !step.assumed)).toBe(true);
    expect(path.steps[0]?.command).toBe("ip -n c1 route get 10.0.1.3 from 10.0.1.2");
  });

  it("a port that is down breaks there, and the rest is walked as assumed", () => {
    const view = oneHost((spaces) => {
      const port = spaces.h?.links.find((each) => each.name === "vethB");
      if (port) Object.assign(port, { up: false, flags: 0, operstate: "DOWN" });
    });
    const steps = tracePath(view, from, to, udp()).steps;
    const broken = steps.find((step) => step.status === "break");
    expect(broken).toMatchObject({
      netns: "h",
      kind: "egress",
      ifName: "vethB",
      fault: "link-down",
      reason: "vethB is down",
    });
    expect(steps.at(-1)).toMatchObject({ kind: "deliver", assumed: true });
  });

  it("a veth whose other end is down has no carrier, and says which end", () => {
    const view = oneHost((spaces) => {
      const eth0 = spaces.c1?.links[0];
      if (eth0) eth0.operstate = "LOWERLAYERDOWN";
      const port = spaces.h?.links.find((each) => each.name === "vethA");
      if (port) Object.assign(port, { up: false, flags: 0 });
    });
    expect(tracePath(view, from, to, udp()).steps[2]).toMatchObject({
      kind: "egress",
      status: "break",
      reason: "eth0 has no carrier: its other end, h:vethA, is down",
    });
  });

  it("an INCOMPLETE neighbour breaks, the MAC is taken from where the address lives to go on", () => {
    const view = oneHost((spaces) => {
      if (spaces.c1) spaces.c1.neighbours = [{ index: 2, family: 4, dst: "10.0.1.3", state: 0x01, flags: 0 }];
    });
    const steps = tracePath(view, from, to, udp()).steps;
    expect(steps[1]).toMatchObject({
      kind: "neighbour",
      status: "break",
      fault: "neighbour",
      command: "ip -n c1 neigh show 10.0.1.3 dev eth0",
    });
    expect(steps[1]?.reason).toMatch(/is INCOMPLETE: nobody answers ARP/);
    expect(steps.find((step) => step.kind === "bridge")).toMatchObject({
      detail: `br0 fdb ${M2} -> vethB`,
      assumed: true,
    });
  });

  it("a missing neighbour entry is only a note: the kernel will ask", () => {
    const view = oneHost((spaces) => {
      if (spaces.c1) spaces.c1.neighbours = [];
    });
    const path = tracePath(view, from, to, udp());
    expect(path.steps[1]).toMatchObject({ kind: "neighbour", status: "note" });
    expect(path.reachesDestination).toBe(true);
  });

  it("no FDB entry floods, and the copy that reaches the MAC goes on", () => {
    const view = oneHost((spaces) => {
      if (spaces.h) spaces.h.fdb = [];
    });
    const bridge = tracePath(view, from, to, udp()).steps.find((step) => step.kind === "bridge");
    expect(bridge).toMatchObject({ status: "note", detail: `br0 fdb ${M2}: none, flooded to vethB` });
    expect(kinds(view)).toContain("h egress vethB");
  });

  it("no route stops the walk", () => {
    const view = oneHost((spaces) => {
      if (spaces.c1) spaces.c1.route = () => unreachable;
    });
    const path = tracePath(view, from, to, udp());
    expect(path.steps).toEqual([
      expect.objectContaining({
        kind: "route",
        status: "break",
        fault: "no-route",
        reason: "no route to 10.0.1.3: network is unreachable (ENETUNREACH)",
      }),
    ]);
    expect(path.reachesDestination).toBe(false);
  });

  it("a packet larger than the first link's MTU breaks there (DF), and a learned path MTU at the route", () => {
    expect(tracePath(oneHost(), from, to, udp(1451)).steps[2]).toMatchObject({
      kind: "egress",
      status: "break",
      fault: "mtu",
      reason: "the 1451-byte packet is larger than eth0's MTU 1450 and has DF",
    });
    const learned = oneHost((spaces) => {
      if (spaces.c1) spaces.c1.route = () => unicast(2, { mtu: 1350, expiresSeconds: 500 });
    });
    const route = tracePath(learned, from, to, udp(1400)).steps[0];
    expect(route).toMatchObject({
      status: "break",
      fault: "mtu",
      detail: "10.0.1.3 dev eth0 mtu 1350 (learned, expires in 500s)",
    });
  });
});

describe("tracePath into a VTEP", () => {
  /** c1 on br0 of host h, whose VTEP vx42 (a port of br0) leads to 198.18.0.2 over ul0. */
  function withVtep(fdb: Neigh[], serving?: string): FakeView {
    const spaces: Record<string, FakeNetns> = {
      c1: {
        links: [link({ index: 2, name: "eth0", kind: "veth", mac: M1, mtu: 1450 })],
        neighbours: [{ index: 2, family: 4, dst: "10.0.1.3", lladdr: M2, state: 0x02, flags: 0 }],
        route: () => unicast(2),
      },
      h: {
        links: [
          link({ index: 3, name: "br0", kind: "bridge" }),
          link({
            index: 4,
            name: "vx42",
            kind: "vxlan",
            masterIndex: 3,
            mtu: 1450,
            vxlan: { vni: 42, port: 4789, local: "198.18.0.1" },
          }),
          link({ index: 5, name: "vethA", kind: "veth", masterIndex: 3, mtu: 1450 }),
          link({ index: 7, name: "ul0", kind: "dummy", mtu: 1400 }),
        ],
        fdb: [{ index: 4, family: "bridge", lladdr: M2, state: 0x02, flags: 0x04, master: 3 }, ...fdb],
        route: (query) => (query.dst === "198.18.0.2" ? unicast(7) : unreachable),
      },
    };
    return new FakeView(
      spaces,
      [
        [
          ["c1", "eth0"],
          ["h", "vethA"],
        ],
      ],
      serving,
    );
  }

  it("takes the remote from the MAC's own entry, adds 50 bytes of VXLAN, and checks the underlay MTU with them", () => {
    const path = tracePath(
      withVtep([{ index: 4, family: "bridge", lladdr: M2, dst: "198.18.0.2", state: 0x02, flags: 0x02 }]),
      from,
      to,
      udp(1360),
    );
    expect(path.steps.find((step) => step.kind === "vtep")).toMatchObject({
      status: "ok",
      detail: `vx42 vni 42 port 4789: ${M2} dst 198.18.0.2`,
    });
    expect(path.tunnels).toEqual([{ local: "198.18.0.1", remote: "198.18.0.2", port: 4789, vni: 42, size: 1410 }]);
    const underlay = path.steps.find((step) => step.kind === "egress" && step.ifName === "ul0");
    expect(underlay).toMatchObject({ outer: true, status: "break", fault: "mtu" });
    expect(underlay?.reason).toMatch(
      /^the VXLAN packet \(1360 \+ 50 bytes of headers\) is larger than ul0's MTU 1400; the inner packet has DF, so the VTEP answers "fragmentation needed" \(mtu 1350\)/,
    );
  });

  it("falls back to the flood entries, and without any names the break", () => {
    const flooded = tracePath(
      withVtep([
        { index: 4, family: "bridge", lladdr: "00:00:00:00:00:00", dst: "198.18.0.9", state: 0xc0, flags: 0x02 },
      ]),
      from,
      to,
      udp(),
    );
    expect(flooded.steps.find((step) => step.kind === "vtep")).toMatchObject({
      status: "ok",
      detail: `vx42 vni 42 port 4789: ${M2} none, flood entries dst 198.18.0.9`,
    });
    const none = tracePath(withVtep([]), from, to, udp());
    const vtep = none.steps.find((step) => step.kind === "vtep");
    expect(vtep).toMatchObject({ status: "break", fault: "no-fdb-entry", command: "bridge -n h fdb show dev vx42" });
    expect(none.steps.at(-1)).toBe(vtep);
    // Where the destination's VTEP is known, the walk goes on past the break.
    const guessed = tracePath(withVtep([], "198.18.0.2"), from, to, udp());
    expect(guessed.steps.find((step) => step.kind === "route" && step.outer)).toMatchObject({
      assumed: true,
      detail: "198.18.0.2 dev ul0",
    });
  });
});
