// Per-option behaviour of our bridge plugin, each on a bridge of its own in one host
// namespace: mtu, port flags, the container MAC sources, enabledad.
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, ping, udpProbe } from "../../../netns-fixtures";
import {
  type AddResult,
  addOk,
  addRefused,
  bridgeNetwork,
  linkNamed,
  portFlags,
  sysctlIn,
  useTestbed,
} from "./harness";

const { fixture, dataDir } = useTestbed("opt");
let host: Netns;

beforeAll(() => {
  host = fixture.hostNetns();
});

let networkCount = 0;
/** A network with its own bridge and subnet, so cases never meet. */
function network(extra: Record<string, unknown>) {
  const index = networkCount++;
  const bridge = `ckopt${index}`;
  const config = bridgeNetwork({ name: `opt${index}`, bridge, subnet: `10.63.${index}.0/24`, dataDir, extra });
  // Host veth names derive from the container ID: one per network keeps them apart.
  return { bridge, config, containerId: `optctr${index}` };
}

function hostVethOf(result: AddResult): string {
  const name = result.interfaces?.[1]?.name;
  if (!name) throw new Error(`no host veth in ${JSON.stringify(result)}`);
  return name;
}

describe("bridge options", () => {
  it("mtu goes on the new bridge and on both veth ends", () => {
    const { bridge, config, containerId } = network({ mtu: 1400 });
    const ctr = fixture.containerNetns();
    const result = addOk({ host, config, containerId, netns: ctr.path });
    expect(linkNamed(host, bridge)?.mtu).toBe(1400);
    expect(linkNamed(host, hostVethOf(result))?.mtu).toBe(1400);
    expect(linkNamed(ctr, "eth0")?.mtu).toBe(1400);
  });

  it("hairpinMode and portIsolation set the port flags; promiscMode makes the bridge promiscuous", () => {
    const { bridge, config, containerId } = network({ hairpinMode: true, portIsolation: true, promiscMode: true });
    const result = addOk({ host, config, containerId, netns: fixture.containerNetns().path });
    expect(portFlags(host, hostVethOf(result))).toMatchObject({ hairpin: true, isolated: true });
    expect(linkNamed(host, bridge)?.flags).toContain("PROMISC");
    expect(linkNamed(host, bridge)?.promiscuity).toBeGreaterThan(0);
  });

  it("without those options the port is neither hairpin nor isolated and the bridge not promiscuous", () => {
    const { bridge, config, containerId } = network({});
    const result = addOk({ host, config, containerId, netns: fixture.containerNetns().path });
    expect(portFlags(host, hostVethOf(result))).toMatchObject({ hairpin: false, isolated: false });
    expect(linkNamed(host, bridge)?.flags).not.toContain("PROMISC");
  });

  it("isolated ports cannot reach each other but still reach the gateway", async () => {
    const { config } = network({ portIsolation: true, isGateway: true });
    const [ctrA, ctrB] = [fixture.containerNetns(), fixture.containerNetns()];
    const gateway = addOk({ host, config, netns: ctrA.path, containerId: "iso-a" }).ips?.[0]?.gateway ?? "";
    const addressB =
      addOk({ host, config, netns: ctrB.path, containerId: "iso-b" }).ips?.[0]?.address.split("/")[0] ?? "";
    expect(ping(ctrA, gateway)).toBe(true);
    expect(await udpProbe({ from: ctrA, to: ctrB, address: addressB, timeoutMs: 1500 })).toBe(false);
  });

  // Runtimes send IgnoreUnknown=1: host-local (ours and the reference) refuses a MAC key otherwise.
  describe("container MAC", () => {
    const cases: Array<{ label: string; cniArgs?: string; extra: Record<string, unknown>; mac: string }> = [
      { label: "CNI_ARGS MAC=", cniArgs: "IgnoreUnknown=1;MAC=0a:58:0a:3f:00:01", extra: {}, mac: "0a:58:0a:3f:00:01" },
      { label: "args.cni.mac", extra: { args: { cni: { mac: "0a:58:0a:3f:00:02" } } }, mac: "0a:58:0a:3f:00:02" },
      { label: "runtimeConfig.mac", extra: { runtimeConfig: { mac: "0a:58:0a:3f:00:03" } }, mac: "0a:58:0a:3f:00:03" },
      {
        label: "runtimeConfig.mac over args.cni.mac over CNI_ARGS",
        cniArgs: "IgnoreUnknown=1;MAC=0a:58:0a:3f:00:04",
        extra: { args: { cni: { mac: "0a:58:0a:3f:00:05" } }, runtimeConfig: { mac: "0a:58:0a:3f:00:06" } },
        mac: "0a:58:0a:3f:00:06",
      },
      {
        label: "args.cni.mac over CNI_ARGS",
        cniArgs: "IgnoreUnknown=1;MAC=0a:58:0a:3f:00:07",
        extra: { args: { cni: { mac: "0a:58:0a:3f:00:08" } } },
        mac: "0a:58:0a:3f:00:08",
      },
    ];
    it.each(cases)("from $label", ({ cniArgs, extra, mac }) => {
      const { config, containerId } = network(extra);
      const ctr = fixture.containerNetns();
      const result = addOk({ host, config, containerId, netns: ctr.path, ...(cniArgs && { cniArgs }) });
      expect(result.interfaces?.[2]).toMatchObject({ name: "eth0", mac });
      expect(linkNamed(ctr, "eth0")?.address).toBe(mac);
    });

    it("a malformed CNI_ARGS MAC is refused naming it, and leaves no veth", () => {
      const { config } = network({});
      const call = {
        host,
        config,
        netns: fixture.containerNetns().path,
        containerId: "badmac",
        cniArgs: "MAC=not-a-mac",
      };
      addRefused(call, 4, "not-a-mac");
    });
  });

  it("enabledad false (the default) sets accept_dad=0 in the container; enabledad true leaves DAD on", () => {
    const off = fixture.containerNetns();
    addOk({ host, ...network({}), netns: off.path });
    expect(sysctlIn(off, "ipv6/conf/eth0/accept_dad")).toBe("0");
    const on = fixture.containerNetns();
    addOk({ host, ...network({ enabledad: true }), netns: on.path });
    expect(sysctlIn(on, "ipv6/conf/eth0/accept_dad")).toBe("1");
    expect(sysctlIn(on, "ipv4/conf/eth0/arp_notify")).toBe("1");
  });
});
