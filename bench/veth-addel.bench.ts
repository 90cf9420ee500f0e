// ADD and DEL latency of the veth plugin + host-local against the reference ptp +
// host-local on the same config: the whole plugin call as a runtime sees it.
import { timeAddDel } from "./lib/addel";
import type { PluginUnderTest } from "./lib/cni-env";
import { cnikitModes } from "./lib/modes";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";

function vethConfig(dataDir: string): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: "benchptp",
    type: "veth",
    mtu: 1400,
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.89.0.0/24" }]], routes: [{ dst: "0.0.0.0/0" }] },
  });
}

function run(context: BenchContext): BenchSection {
  const plugins: PluginUnderTest[] = [
    { label: "Go reference ptp + host-local", pluginDir: context.goPluginDir, executable: "ptp", baseline: true },
    ...cnikitModes(context.distBin, "veth", "veth + host-local"),
  ];
  const { variants, notes } = timeAddDel(context, { plugins, config: vethConfig });
  return {
    title: "ADD / DEL: veth (point-to-point) + host-local",
    description:
      "As the bridge ADD / DEL benchmark, with the point-to-point plugins: the Go `ptp` and our `veth` on the same " +
      "config (the `type` field is ignored by both): 10.89.0.0/24 from host-local, a default route, `mtu` 1400, no " +
      "masquerade. IPv4 only: with an IPv6 range the Go ptp ADD also waits for the container's addresses to leave " +
      "the tentative state, which costs over a second and would hide everything else (ours adds them with DAD off " +
      "and does not wait).",
    variants,
    notes,
  };
}

export const benchmark: Benchmark = { id: "veth-addel", run };
