import { describe, expect, it } from "vitest";
import { CliError } from "../../../src/cli/errors";
import { mermaid } from "../../../src/cli/lab/diagram";
import { hostNetworkConfig } from "../../../src/cli/lab/network-config";
import { planLab, sliceOf } from "../../../src/cli/lab/plan";
import type { LabState } from "../../../src/cli/lab/state";
import { DEFAULT_TOPOLOGY_INPUT, normalizeTopology } from "../../../src/cli/lab/topology";

describe("lab topology", () => {
  it("defaults to two hosts with two containers each on vxlan-overlay", () => {
    const topology = normalizeTopology(DEFAULT_TOPOLOGY_INPUT);
    expect(topology).toEqual({
      name: "lab",
      plugin: "vxlan-overlay",
      underlay: { subnet: "198.18.0.0/24", mtu: 1500 },
      network: { subnet: "10.10.0.0/16", hostPrefix: 24, vni: 42 },
      hosts: [
        { name: "h1", containers: ["c1", "c2"] },
        { name: "h2", containers: ["c1", "c2"] },
      ],
      daemon: true,
    });
  });

  it("takes hosts as names, mappings with container lists or counts", () => {
    const topology = normalizeTopology({
      name: "t",
      plugin: "bridge",
      containersPerHost: 1,
      hosts: ["a", { name: "b", containers: 3 }, { name: "c", containers: ["x"] }],
    });
    expect(topology.hosts).toEqual([
      { name: "a", containers: ["c1"] },
      { name: "b", containers: ["c1", "c2", "c3"] },
      { name: "c", containers: ["x"] },
    ]);
  });

  it.each([
    [{ color: "red" }, "topology color: unknown key"],
    [{ hosts: [{ name: "A" }] }, "topology hosts[0].name: must be"],
    [{ hosts: ["a", "a"] }, "topology hosts: host a appears twice"],
    [{ network: { subnet: "10.0.0.0/24" } }, "topology network.subnet: prefix must be /23 or shorter"],
    [{ network: { subnet: "fd00::/64" } }, "topology network.subnet: must be an IPv4 CIDR"],
    [{ network: { vni: 0 } }, "topology network.vni: must be an integer from 1 to 16777215"],
    [{ plugin: "ptp" }, "topology plugin: must be one of vxlan-overlay, bridge, veth"],
    [{ daemon: "yes" }, 'topology daemon: must be true or false, got "yes"'],
  ])("refuses %j naming the field", (input, message) => {
    expect(() => normalizeTopology(input)).toThrow(CliError);
    expect(() => normalizeTopology(input)).toThrow(message);
  });
});

describe("lab plan", () => {
  it("cuts the container subnet into per-host slices that never overlap", () => {
    expect(sliceOf("10.10.0.0/16", 24, 3)).toBe("10.10.3.0/24");
    expect(sliceOf("10.64.0.0/12", 20, 2)).toBe("10.64.32.0/20");
    expect(() => sliceOf("10.10.0.0/23", 24, 2)).toThrow(/only 2 \/24 slices/);
  });

  it("names namespaces after the lab and gives hosts underlay addresses in order", () => {
    const plan = planLab(normalizeTopology({ name: "demo", hosts: 2, containersPerHost: 1 }));
    expect(plan.switchNetns).toBe("demo-underlay");
    expect(plan.hosts.map((host) => [host.netns, host.underlayAddress, host.slice, host.gateway])).toEqual([
      ["demo-h1", "198.18.0.1", "10.10.1.0/24", "10.10.1.1"],
      ["demo-h2", "198.18.0.2", "10.10.2.0/24", "10.10.2.1"],
    ]);
    expect(plan.containers.map((container) => [container.label, container.netns, container.containerId])).toEqual([
      ["h1/c1", "demo-h1-c1", "demo-h1-c1"],
      ["h2/c1", "demo-h2-c1", "demo-h2-c1"],
    ]);
    expect(plan.stateFile).toBe("/run/cnikit/labs/demo.json");
  });

  it("configures vxlan-overlay with the other hosts as peers and this host's slice as its range", () => {
    const topology = normalizeTopology({ name: "demo", hosts: 3 });
    const plan = planLab(topology);
    const host = plan.hosts[1];
    if (!host) throw new Error("no host");
    const [plugin] = hostNetworkConfig(topology, plan, host).plugins as Record<string, unknown>[];
    expect(plugin).toMatchObject({
      type: "vxlan-overlay",
      vni: 42,
      localAddress: "198.18.0.2",
      peers: ["198.18.0.1", "198.18.0.3"],
      hostAddress: { "198.18.0.1": "10.10.1.1/16", "198.18.0.2": "10.10.2.1/16", "198.18.0.3": "10.10.3.1/16" },
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: "10.10.0.0/16", rangeStart: "10.10.2.2", rangeEnd: "10.10.2.254", gateway: "10.10.2.1" }]],
      },
    });
  });

  it("plans an IPv6 underlay and dual-stack containers for vxlan-overlay", () => {
    const topology = normalizeTopology({
      name: "v6",
      hosts: 2,
      underlay: { subnet: "fd00:18::/64" },
      network: { ipv6Subnet: "fd10:10::/48" },
      membership: "etcd",
    });
    const plan = planLab(topology);
    expect(plan.hosts.map((host) => [host.underlayAddress, host.ipv6Slice, host.ipv6Gateway])).toEqual([
      ["fd00:18::1", "fd10:10:0:1::/64", "fd10:10:0:1::1"],
      ["fd00:18::2", "fd10:10:0:2::/64", "fd10:10:0:2::1"],
    ]);
    expect(plan.etcd?.underlayAddress).toBe("fd00:18::ffff:ffff:ffff:fffe");
    const staticTopology = { ...topology, membership: undefined };
    const staticPlan = planLab(staticTopology);
    const [plugin] = hostNetworkConfig(staticTopology, staticPlan, staticPlan.hosts[1] as never).plugins as Record<
      string,
      unknown
    >[];
    expect(plugin).toMatchObject({
      localAddress: "fd00:18::2",
      peers: ["fd00:18::1"],
      ipam: {
        ranges: [
          [{ subnet: "10.10.0.0/16", rangeStart: "10.10.2.2" }],
          [
            {
              subnet: "fd10:10::/48",
              rangeStart: "fd10:10:0:2::2",
              rangeEnd: "fd10:10:0:2::ffff",
              gateway: "fd10:10:0:2::1",
            },
          ],
        ],
      },
    });
  });

  it.each(["bridge", "veth"])(
    "takes an IPv6 underlay for plugin %s (IPv4 slices routed via IPv6 gateways)",
    (plugin) => {
      const topology = normalizeTopology({ plugin, underlay: { subnet: "fd00:18::/64" } });
      expect(topology.underlay.subnet).toBe("fd00:18::/64");
      expect(topology.network.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    },
  );

  it.each([
    [{ plugin: "veth", network: { ipv6Subnet: "fd10:10::/48" } }, "network.ipv6Subnet: needs plugin vxlan-overlay"],
    [{ network: { ipv6Subnet: "10.20.0.0/16" } }, "network.ipv6Subnet: must be an IPv6 CIDR"],
    [{ network: { ipv6Subnet: "fd10:10::/60" } }, "network.ipv6Subnet: prefix must be /56 or shorter"],
    [{ underlay: { subnet: "fd00:18::/127" } }, "underlay.subnet: prefix must be /125 or shorter"],
  ])("refuses %j naming the field", (input, message) => {
    expect(() => normalizeTopology(input)).toThrow(message);
  });

  it("configures bridge with a routed slice per host", () => {
    const topology = normalizeTopology({ name: "demo", plugin: "bridge" });
    const plan = planLab(topology);
    const [plugin] = hostNetworkConfig(topology, plan, plan.hosts[0] as never).plugins as Record<string, unknown>[];
    expect(plugin).toMatchObject({
      type: "bridge",
      isGateway: true,
      ipMasq: false,
      ipam: {
        ranges: [[{ subnet: "10.10.1.0/24", gateway: "10.10.1.1" }]],
        routes: [{ dst: "10.10.0.0/16", gw: "10.10.1.1" }],
      },
    });
  });

  it("draws hosts, bridges, VTEPs and containers as Mermaid", () => {
    const topology = normalizeTopology({ name: "demo", containersPerHost: 1 });
    const state: LabState = {
      version: 1,
      createdAt: "",
      topology,
      plan: planLab(topology),
      addresses: { "h1/c1": ["10.10.1.2/16"] },
    };
    const text = mermaid(state);
    expect(text).toContain('h1_c1("c1<br/>eth0 10.10.1.2/16")');
    expect(text).toContain('h2_c1("c1<br/>eth0 no address")');
    expect(text).toContain('h1_vtep -. "vxlan 42" .- h2_vtep');
    expect(text).toContain("h1_ul --- sw");
  });
});
