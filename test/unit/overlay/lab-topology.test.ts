import { describe, expect, it } from "vitest";
import { hostNetworkConfig } from "../../../src/cli/lab/network-config";
import { planLab } from "../../../src/cli/lab/plan";
import { normalizeTopology } from "../../../src/cli/lab/topology";

describe("lab topology with membership etcd", () => {
  it("plans an etcd member on the underlay's last address and configs that name the agent's files", () => {
    const topology = normalizeTopology({ name: "lab1", membership: "etcd", hosts: 2 });
    const plan = planLab(topology);
    expect(plan.etcd).toEqual({
      name: "etcd",
      netns: "lab1-etcd",
      switchPort: "p-etcd",
      underlayAddress: "198.18.0.254",
    });
    const plugin = (hostNetworkConfig(topology, plan, plan.hosts[0]!).plugins as Record<string, unknown>[])[0];
    expect(plugin).toMatchObject({
      type: "vxlan-overlay",
      peersFile: "/run/cnikit/labs/lab1/h1/overlay/peers.json",
      subnetFile: "/run/cnikit/labs/lab1/h1/overlay/subnet.json",
      ipam: { type: "host-local", dataDir: plan.hosts[0]!.ipamDir },
    });
    expect(plugin).not.toHaveProperty("peers");
  });

  it("static stays the default and etcd needs the overlay plugin", () => {
    expect(planLab(normalizeTopology({ name: "lab1" })).etcd).toBeUndefined();
    expect(normalizeTopology({ membership: "static" }).membership).toBeUndefined();
    expect(() => normalizeTopology({ membership: "etcd", plugin: "bridge" })).toThrow(
      /membership: "etcd" needs plugin vxlan-overlay/,
    );
    expect(() => normalizeTopology({ membership: "consul" })).toThrow(/membership: must be "static" or "etcd"/);
  });
});
