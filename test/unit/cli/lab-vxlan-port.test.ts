// The lab's VXLAN port and VNI from the topology: defaults as before, both reach every
// host's plugin config, bad values are named.
import { describe, expect, it } from "vitest";
import { CliError } from "../../../src/cli/errors";
import { hostNetworkConfig } from "../../../src/cli/lab/network-config";
import { planLab } from "../../../src/cli/lab/plan";
import { DEFAULT_TOPOLOGY_INPUT, labVxlanPort, normalizeTopology } from "../../../src/cli/lab/topology";

function overlayConfigs(input: object): Record<string, unknown>[] {
  const topology = normalizeTopology(input);
  const plan = planLab(topology);
  return plan.hosts.map(
    (host) =>
      (hostNetworkConfig(topology, plan, host).plugins as Record<string, unknown>[])[0] as Record<string, unknown>,
  );
}

describe("lab VXLAN port and VNI", () => {
  it("leaves the default lab's configs as they were: VNI 42, the plugin's port 4789", () => {
    const topology = normalizeTopology(DEFAULT_TOPOLOGY_INPUT);
    expect(topology.network).toEqual({ subnet: "10.10.0.0/16", hostPrefix: 24, vni: 42 });
    expect(labVxlanPort(topology)).toBe(4789);
    for (const config of overlayConfigs(DEFAULT_TOPOLOGY_INPUT)) {
      expect(config.vni).toBe(42);
      expect(config).not.toHaveProperty("port");
    }
  });

  it("hands a topology's port and VNI to every host, static or etcd membership", () => {
    for (const membership of [undefined, "etcd"]) {
      const input = { network: { vni: 4242, vxlanPort: 8999 }, ...(membership ? { membership } : {}) };
      expect(labVxlanPort(normalizeTopology(input))).toBe(8999);
      const configs = overlayConfigs(input);
      expect(configs).toHaveLength(2);
      for (const config of configs) expect(config).toMatchObject({ type: "vxlan-overlay", vni: 4242, port: 8999 });
    }
  });

  it.each([
    [{ network: { vxlanPort: 0 } }, "topology network.vxlanPort: must be an integer from 1 to 65535, got 0"],
    [{ network: { vxlanPort: 70000 } }, "topology network.vxlanPort: must be an integer from 1 to 65535, got 70000"],
    [{ network: { vxlanPort: "4789" } }, 'topology network.vxlanPort: must be an integer from 1 to 65535, got "4789"'],
    [{ network: { vni: 16_777_216 } }, "topology network.vni: must be an integer from 1 to 16777215, got 16777216"],
    [{ network: { vni: 1.5 } }, "topology network.vni: must be an integer from 1 to 16777215, got 1.5"],
    [
      { plugin: "bridge", network: { vxlanPort: 8999 } },
      "topology network.vxlanPort: needs plugin vxlan-overlay, got plugin bridge",
    ],
    [
      { network: { port: 8999 } },
      "topology network.port: unknown key (known: subnet, hostPrefix, vni, mtu, vxlanPort, ipv6Subnet)",
    ],
  ])("refuses %j naming the key and the value", (input, message) => {
    expect(() => normalizeTopology(input)).toThrow(CliError);
    expect(() => normalizeTopology(input)).toThrow(message);
  });
});
