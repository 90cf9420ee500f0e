// The agent and the vxlan-overlay plugin together, as a fleet runs them: etcd in a
// namespace of its own, an agent per host (l3, programming its VTEP too), one config
// for every host with peersFile + subnetFile, containers reaching each other across
// hosts; a host that joins later is programmed on the others by their agents alone, a
// host whose lease expires is removed from them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost, udpProbe } from "../../../netns-fixtures";
import { EtcdMember } from "../../../overlay/membership/etcd-member";
import { vtepMac } from "../../../overlay/kernel/peer-entries";
import { type Attached, addContainer, expectedL3Entries, failingPairs, l3Entries } from "../vxlan-overlay/harness";
import { AgentProcess, overlayCli, waitFor } from "./agents";

const VNI = 4040;
const VTEP = `vx${VNI}`;
const NETWORK = "fleet";
const fixture = new NetnsFixture();
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-overlay-fleet-"));
const agents = new Map<UnderlayHost, AgentProcess>();
let hosts: UnderlayHost[] = [];
let etcd: EtcdMember;

function startAgent(host: UnderlayHost): AgentProcess {
  const agent = new AgentProcess({
    host,
    endpoint: etcd.endpoint,
    network: NETWORK,
    stateDir,
    extraArgs: ["--vni", String(VNI), "--mode", "l3"],
  });
  agents.set(host, agent);
  return agent;
}

/** The one config every host uses; only the files differ here because the test's hosts share a filesystem. */
function configFor(host: UnderlayHost): Record<string, unknown> {
  const agent = agents.get(host)!;
  return {
    cniVersion: "1.0.0",
    name: NETWORK,
    type: "vxlan-overlay",
    vni: VNI,
    mode: "l3",
    peersFile: agent.peersFile,
    subnetFile: agent.subnetFile,
    ipam: { type: "host-local", dataDir: path.join(stateDir, host.name, "ipam") },
  };
}

async function attach(host: UnderlayHost): Promise<Attached> {
  const container = fixture.containerNetns();
  const containerId = `fleet-${host.name}`;
  const { address, result } = await addContainer({ host, config: configFor(host), container, containerId });
  return { host, hostIndex: hosts.indexOf(host), container, containerId, address, result };
}

/** The l3 entries `host` must have for the live `peers` (the other hosts), from their subnetFiles. */
function expectedFor(peers: UnderlayHost[]): ReturnType<typeof l3Entries> {
  return expectedL3Entries(
    peers.map((peer) => ({ address: peer.address, subnet: agents.get(peer)!.subnet()!.subnet! })),
    (address) => vtepMac(VNI, address),
  );
}

const sameEntries = (left: unknown, right: unknown): boolean => JSON.stringify(left) === JSON.stringify(right);

beforeAll(async () => {
  const all = fixture.underlay({ hosts: 5 });
  const etcdHost = all[0]!;
  hosts = all.slice(1);
  etcd = await EtcdMember.start({
    netnsPath: etcdHost.path,
    address: etcdHost.address,
    dataDir: path.join(stateDir, "etcd"),
  });
  const pool = JSON.stringify({ network: "10.40.0.0/16", subnetLen: 24 });
  expect(overlayCli(etcdHost, ["config", "--etcd", etcd.endpoint, "--network", NETWORK, "--set", pool]).status).toBe(0);
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((agent) => agent.stop("SIGKILL")));
  await etcd?.stop({ removeData: true });
  fixture.cleanup();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("overlay agent + vxlan-overlay (l3)", () => {
  const attached: Attached[] = [];
  const first = (): UnderlayHost[] => hosts.slice(0, 3);

  it("three hosts join and every container reaches every other", async () => {
    for (const host of first()) startAgent(host);
    await waitFor("three leases", () => first().every((host) => agents.get(host)!.peers()?.length === 3), 30_000); // generous: returns as soon as it holds; etcd lease expiry lags under load
    for (const host of first()) attached.push(await attach(host));
    for (const item of attached)
      expect(
        item.address.startsWith(
          agents
            .get(item.host)!
            .subnet()!
            .subnet!.replace(/0\/24$/, ""),
        ),
      ).toBe(true);
    for (const host of first())
      expect(l3Entries(host, VTEP)).toEqual(expectedFor(first().filter((peer) => peer !== host)));
    expect(
      await failingPairs(attached, (from, to) =>
        udpProbe({ from: from.container, to: to.container, address: to.address }),
      ),
    ).toEqual([]);
  });

  it("a fourth host is programmed on the others by their agents and reachable from all", async () => {
    const fourth = hosts[3]!;
    startAgent(fourth);
    await waitFor("the fourth lease", () => agents.get(fourth)!.subnet() !== undefined, 30_000); // generous: returns as soon as it holds; etcd lease expiry lags under load
    const all = hosts.slice(0, 4);
    // No ADD runs on the first three: only their agents can have added the entries.
    await waitFor(
      "the fourth host's entries everywhere",
      () =>
        first().every((host) => sameEntries(l3Entries(host, VTEP), expectedFor(all.filter((peer) => peer !== host)))),
      30_000,
    ); // generous: returns as soon as it holds; etcd lease expiry lags under load
    const newcomer = await attach(fourth);
    for (const item of attached)
      expect(await udpProbe({ from: item.container, to: newcomer.container, address: newcomer.address })).toBe(true);
    expect(
      await udpProbe({ from: newcomer.container, to: attached[0]!.container, address: attached[0]!.address }),
    ).toBe(true);
    attached.push(newcomer);
  });

  it("a host whose agent is killed loses its entries on the others when its lease expires", async () => {
    const gone = hosts[3]!;
    await agents.get(gone)!.stop("SIGKILL");
    await waitFor(
      "the killed host's entries removed",
      () =>
        first().every((host) =>
          sameEntries(l3Entries(host, VTEP), expectedFor(first().filter((peer) => peer !== host))),
        ),
      30_000,
    ); // generous: returns as soon as it holds; etcd lease expiry lags under load
    // The agent logs after it changed the kernel; its stderr may still be in the pipe.
    await waitFor(
      "the agent's log line",
      () => new RegExp(`${VTEP}: .*removed route`).test(agents.get(hosts[0]!)!.log),
      5_000,
    );
  });
});
