// Two hosts on an IPv6 underlay (fd00:18::/64): l2 and l3 overlays, each with IPv4 and
// with dual-stack containers. The VTEP runs over IPv6 (IFLA_VXLAN_LOCAL6), its FDB
// entries carry IPv6 destinations, the MTU is the underlay's minus 70, and TCP and UDP
// cross hosts in every family the containers have. DEL leaves the host clean of the
// attachment, GC of the overlay. The compiled executable runs inside each host namespace.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, type UnderlayHost, fdb, links, udpProbe } from "../../../netns-fixtures";
import { expectedL3Entries, floodDsts, l3Entries, linkNamed, runOverlay, tempDir } from "./harness";
import { tcpEcho } from "./tcp";

interface Variant {
  name: string;
  vni: number;
  mode: "l2" | "l3";
  dualStack: boolean;
}

const VARIANTS: Variant[] = [
  { name: "l2 IPv4", vni: 6101, mode: "l2", dualStack: false },
  { name: "l2 dual-stack", vni: 6102, mode: "l2", dualStack: true },
  { name: "l3 IPv4", vni: 6103, mode: "l3", dualStack: false },
  { name: "l3 dual-stack", vni: 6104, mode: "l3", dualStack: true },
];

interface Container {
  netns: Netns;
  containerId: string;
  /** Overlay addresses, no prefix length: IPv4 first. */
  addresses: string[];
  config: Record<string, unknown>;
}

/** Per variant and host: the l3 subnets of host `index` (10.8x.<i+1>.0/24, fd10:8x:<i+1>::/64). */
function l3Subnets(variant: Variant, index: number): { subnet: string; ipv6Subnet?: string } {
  const tag = variant.vni - 6020;
  return {
    subnet: `10.${tag}.${index + 1}.0/24`,
    ...(variant.dualStack && { ipv6Subnet: `fd10:${tag}:${index + 1}::/64` }),
  };
}

function ipamRanges(variant: Variant, index: number): unknown[][] {
  const tag = variant.vni - 6020;
  if (variant.mode === "l3") {
    const { subnet, ipv6Subnet } = l3Subnets(variant, index);
    return [[{ subnet }], ...(ipv6Subnet ? [[{ subnet: ipv6Subnet }]] : [])];
  }
  const slice = index + 1;
  return [
    [{ subnet: `10.${tag}.0.0/16`, rangeStart: `10.${tag}.${slice}.10`, rangeEnd: `10.${tag}.${slice}.250` }],
    ...(variant.dualStack
      ? [[{ subnet: `fd10:${tag}::/64`, rangeStart: `fd10:${tag}::${slice}:10`, rangeEnd: `fd10:${tag}::${slice}:ff` }]]
      : []),
  ];
}

describe("vxlan-overlay on an IPv6 underlay, two hosts", () => {
  const fixture = new NetnsFixture();
  const temp = tempDir("vxlan-v6ul");
  let hosts: UnderlayHost[] = [];
  const containers = new Map<string, Container[]>();
  const peersFileOf = (variant: Variant) => path.join(temp.dir, `peers-${variant.vni}.json`);

  const configFor = (variant: Variant, index: number): Record<string, unknown> => ({
    cniVersion: "1.0.0",
    name: `v6ul${variant.vni}`,
    type: "vxlan-overlay",
    vni: variant.vni,
    mode: variant.mode,
    ...(variant.mode === "l2" ? { peers: hosts.map((host) => host.address) } : { peersFile: peersFileOf(variant) }),
    ipam: { type: "host-local", dataDir: path.join(temp.dir, `ipam${index}`), ranges: ipamRanges(variant, index) },
  });

  beforeAll(async () => {
    hosts = fixture.underlay({ hosts: 2, ipv6: true });
    for (const variant of VARIANTS) {
      if (variant.mode === "l3")
        fs.writeFileSync(
          peersFileOf(variant),
          JSON.stringify(hosts.map((host, index) => ({ address: host.address, ...l3Subnets(variant, index) }))),
        );
      const attached: Container[] = [];
      for (const [index, host] of hosts.entries()) {
        const netns = fixture.containerNetns();
        const containerId = `v6ul-${variant.vni}-${index}`;
        const config = configFor(variant, index);
        const add = await runOverlay({ host, command: "ADD", config, container: netns, containerId });
        if (add.status !== 0) throw new Error(`${variant.name} ADD on host ${index}: ${add.stdout} ${add.stderr}`);
        const ips = (add.json?.ips as Array<{ address: string }> | undefined) ?? [];
        attached.push({ netns, containerId, config, addresses: ips.map((ip) => ip.address.split("/")[0] ?? "") });
      }
      containers.set(variant.name, attached);
    }
  });

  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      temp.remove();
    }
  });

  for (const variant of VARIANTS) {
    const vtep = `vx${variant.vni}`;
    describe(variant.name, () => {
      it("runs the VTEP over the IPv6 underlay with the underlay MTU minus 70", () => {
        for (const host of hosts) {
          const link = linkNamed(host, vtep);
          // iproute2 names an IPv6 local address local6.
          expect(link?.linkinfo?.info_data).toMatchObject({ id: variant.vni, local6: host.address, link: "ul0" });
          expect(link?.mtu).toBe(1430);
          expect(linkNamed(host, `vxbr${variant.vni}`)?.mtu).toBe(1430);
        }
        for (const container of containers.get(variant.name) ?? []) {
          expect(links(container.netns).find((link) => link.ifname === "eth0")?.mtu).toBe(1430);
          expect(container.addresses).toHaveLength(variant.dualStack ? 2 : 1);
        }
      });

      it("has the FDB entries with IPv6 destinations", () => {
        for (const [index, host] of hosts.entries()) {
          const other = hosts[1 - index] as UnderlayHost;
          if (variant.mode === "l2") {
            expect(floodDsts(fdb(host, vtep))).toEqual([other.address]);
            continue;
          }
          const otherMac = linkNamed(other, vtep)?.address ?? "?";
          const subnets = l3Subnets(variant, 1 - index);
          const peers = [subnets.subnet, ...(subnets.ipv6Subnet ? [subnets.ipv6Subnet] : [])].map((subnet) => ({
            address: other.address,
            subnet,
          }));
          const expected = expectedL3Entries(peers, () => otherMac);
          // One VTEP, one FDB entry per peer, whatever number of families it routes.
          expect(l3Entries(host, vtep)).toEqual({ ...expected, fdb: [...new Set(expected.fdb)] });
        }
      });

      it("carries UDP and TCP across hosts in every family the containers have", async () => {
        const [first, second] = containers.get(variant.name) ?? [];
        if (!first || !second) throw new Error("variant incomplete");
        const failures: string[] = [];
        for (const [from, to] of [
          [first, second],
          [second, first],
        ] as const) {
          for (const address of to.addresses) {
            if (!(await udpProbe({ from: from.netns, to: to.netns, address }))) failures.push(`udp ${address}`);
            if (!(await tcpEcho({ from: from.netns, to: to.netns, address }))) failures.push(`tcp ${address}`);
          }
        }
        expect(failures).toEqual([]);
      });
    });
  }

  it("refuses a peer list of two underlay families with code 7 naming the entry, and changes nothing", async () => {
    const host = hosts[0] as UnderlayHost;
    const before = links(host).map((link) => link.ifname);
    const mixedFile = path.join(temp.dir, "mixed.json");
    fs.writeFileSync(
      mixedFile,
      JSON.stringify([
        { address: host.address, subnet: "10.99.1.0/24" },
        { address: "198.18.0.2", subnet: "10.99.2.0/24" },
      ]),
    );
    const calls = [
      { config: { ...configFor(VARIANTS[0] as Variant, 0), vni: 6199, peers: [host.address, "198.18.0.2"] } },
      { config: { ...configFor(VARIANTS[2] as Variant, 0), vni: 6198, peersFile: mixedFile } },
    ];
    const messages: string[] = [];
    for (const { config } of calls) {
      const add = await runOverlay({
        host,
        command: "ADD",
        config,
        container: fixture.containerNetns(),
        containerId: "mixed",
      });
      expect(add.status).toBe(1);
      expect(add.json?.code).toBe(7);
      messages.push(String(add.json?.msg));
    }
    expect(messages[0]).toContain("peers: peer 198.18.0.2 is IPv4");
    expect(messages[1]).toContain(`peersFile ${mixedFile}: peer 198.18.0.2 is IPv4`);
    expect(links(host).map((link) => link.ifname)).toEqual(before);
  });

  it("DEL removes each attachment (veth, lease), DEL again succeeds, and GC removes the overlays", async () => {
    for (const variant of VARIANTS) {
      for (const [index, host] of hosts.entries()) {
        const container = (containers.get(variant.name) ?? [])[index] as Container;
        for (let round = 0; round < 2; round++) {
          const del = await runOverlay({
            host,
            command: "DEL",
            config: container.config,
            container: container.netns,
            containerId: container.containerId,
          });
          expect(del.status, del.stdout).toBe(0);
        }
        expect(links(container.netns).map((link) => link.ifname)).toEqual(["lo"]);
        const leases = fs.readdirSync(path.join(temp.dir, `ipam${index}`, `v6ul${variant.vni}`));
        expect(leases.filter((file) => /^[0-9a-f.:]+$/.test(file))).toEqual([]);
      }
    }
    for (const host of hosts) {
      expect(
        links(host).filter((link) => link.master?.startsWith("vxbr") && link.linkinfo?.info_kind === "veth"),
      ).toEqual([]);
      for (const variant of VARIANTS) {
        const gc = await runOverlay({
          host,
          command: "GC",
          config: { ...configFor(variant, hosts.indexOf(host)), cniVersion: "1.1.0", "cni.dev/valid-attachments": [] },
        });
        expect(gc.status, gc.stdout).toBe(0);
      }
      expect(links(host).filter((link) => link.ifname.startsWith("vx"))).toEqual([]);
      expect(fdb(host).filter((entry) => entry.dst !== undefined)).toEqual([]);
    }
  });
});
