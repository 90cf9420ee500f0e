// The agent on an IPv6 underlay (fd00:18::/64): etcd listens on an IPv6 address, each
// agent publishes the IPv6 address it reaches etcd from, watches the others', writes
// them to its peersFile with both subnets of a dual-stack pool, and programs its l3
// VTEP with IPv6 FDB destinations; containers get both families and reach each other.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost, udpProbe } from "../../../netns-fixtures";
import { EtcdMember } from "../../../overlay/membership/etcd-member";
import { vtepMac } from "../../../overlay/kernel/peer-entries";
import { expectedL3Entries, l3Entries, runOverlay } from "../vxlan-overlay/harness";
import { tcpEcho } from "../vxlan-overlay/tcp";
import { AgentProcess, overlayCli, waitFor } from "./agents";

const VNI = 4646;
const VTEP = `vx${VNI}`;
const NETWORK = "v6fleet";
const fixture = new NetnsFixture();
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-overlay-v6-"));
const agents = new Map<UnderlayHost, AgentProcess>();
let hosts: UnderlayHost[] = [];
let etcd: EtcdMember;

beforeAll(async () => {
  const all = fixture.underlay({ hosts: 3, ipv6: true });
  const etcdHost = all[0] as UnderlayHost;
  hosts = all.slice(1);
  etcd = await EtcdMember.start({
    netnsPath: etcdHost.path,
    address: etcdHost.address,
    dataDir: path.join(stateDir, "etcd"),
  });
  const pool = JSON.stringify({
    network: "10.46.0.0/16",
    subnetLen: 24,
    ipv6Network: "fd10:46::/48",
    ipv6SubnetLen: 64,
  });
  const set = overlayCli(etcdHost, ["config", "--etcd", etcd.endpoint, "--network", NETWORK, "--set", pool]);
  expect(set.stderr).toBe("");
  for (const host of hosts) {
    agents.set(
      host,
      new AgentProcess({
        host,
        endpoint: etcd.endpoint,
        network: NETWORK,
        stateDir,
        extraArgs: ["--vni", String(VNI), "--mode", "l3"],
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((agent) => agent.stop("SIGKILL")));
  await etcd?.stop({ removeData: true });
  fixture.cleanup();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const agentOf = (host: UnderlayHost): AgentProcess => agents.get(host) as AgentProcess;

function configFor(host: UnderlayHost): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: NETWORK,
    type: "vxlan-overlay",
    vni: VNI,
    mode: "l3",
    peersFile: agentOf(host).peersFile,
    subnetFile: agentOf(host).subnetFile,
    ipam: { type: "host-local", dataDir: path.join(stateDir, host.name, "ipam") },
  };
}

describe("overlay agent on an IPv6 underlay (l3, dual-stack pool)", () => {
  const containers: Array<{ host: UnderlayHost; netns: ReturnType<typeof fixture.containerNetns>; ips: string[] }> = [];

  it("publishes each host's IPv6 underlay address with both subnets, and the MTU of an IPv6 underlay", async () => {
    await waitFor("both leases", () => hosts.every((host) => agentOf(host).peers()?.length === 2), 30_000); // generous: returns as soon as it holds
    for (const host of hosts) {
      const agent = agentOf(host);
      expect(agent.subnet()).toMatchObject({ underlayAddress: host.address, mtu: 1430 });
      const peers = JSON.parse(fs.readFileSync(agent.peersFile, "utf8")) as Array<Record<string, string>>;
      expect(peers.map((peer) => peer.address).sort()).toEqual(hosts.map((other) => other.address).sort());
      for (const peer of peers) {
        expect(peer.subnet).toMatch(/^10\.46\.\d+\.0\/24$/);
        expect(peer.ipv6Subnet).toMatch(/^fd10:46:[0-9a-f:]+\/64$/);
      }
    }
  });

  it("ADDs dual-stack containers from the agent's files; the VTEP has IPv6 FDB destinations", async () => {
    for (const host of hosts) {
      const netns = fixture.containerNetns();
      const add = await runOverlay({
        host,
        command: "ADD",
        config: configFor(host),
        container: netns,
        containerId: `v6-${host.name}`,
      });
      expect(add.status, add.stdout).toBe(0);
      const ips = ((add.json?.ips as Array<{ address: string }>) ?? []).map((ip) => ip.address.split("/")[0] ?? "");
      expect(ips).toHaveLength(2);
      containers.push({ host, netns, ips });
    }
    for (const host of hosts) {
      const other = hosts.find((candidate) => candidate !== host) as UnderlayHost;
      const share = agentOf(other).subnet() as { subnet: string; ipv6Subnet: string };
      const expected = expectedL3Entries(
        [share.subnet, share.ipv6Subnet].map((subnet) => ({ address: other.address, subnet })),
        (address) => vtepMac(VNI, address),
      );
      expect(l3Entries(host, VTEP)).toEqual({ ...expected, fdb: [...new Set(expected.fdb)] });
    }
  });

  it("carries UDP and TCP across hosts in both container families", async () => {
    const [first, second] = containers;
    if (!first || !second) throw new Error("containers missing");
    const failures: string[] = [];
    for (const [from, to] of [
      [first, second],
      [second, first],
    ] as const) {
      for (const address of to.ips) {
        if (!(await udpProbe({ from: from.netns, to: to.netns, address }))) failures.push(`udp ${address}`);
        if (!(await tcpEcho({ from: from.netns, to: to.netns, address }))) failures.push(`tcp ${address}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("an agent that stops with --revoke-on-exit is removed from the other host's peersFile and VTEP", async () => {
    const [stays, leaves] = hosts as [UnderlayHost, UnderlayHost];
    await agentOf(leaves).stop("SIGKILL");
    const revoke = overlayCli(stays, ["leases", "--etcd", etcd.endpoint, "--network", NETWORK]);
    expect(revoke.stdout).toContain(leaves.address);
    // Restarted with a short TTL and --revoke-on-exit, then stopped: it leaves at once.
    const again = new AgentProcess({
      host: leaves,
      endpoint: etcd.endpoint,
      network: NETWORK,
      stateDir,
      extraArgs: ["--vni", String(VNI), "--mode", "l3", "--revoke-on-exit"],
    });
    agents.set(leaves, again);
    await waitFor("the restarted lease", () => again.log.includes("leased"), 30_000);
    await again.stop("SIGTERM");
    await waitFor("the host gone from the peersFile", () => agentOf(stays).peers()?.length === 1, 30_000);
    await waitFor("its entries gone from the VTEP", () => l3Entries(stays, VTEP).fdb.length === 0, 30_000);
    expect(l3Entries(stays, VTEP)).toEqual({ fdb: [], neighbours: [], routes: [] });
  });
});
