// The overlay agent against a real etcd (Debian's etcd-server) running in a namespace of
// its own on the underlay: joins, leaves, restarts of agents and of etcd, racing claims.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost } from "../../../netns-fixtures";
import { EtcdMember } from "../../../overlay/membership/etcd-member";
import { AgentProcess, overlayCli, sameMembers, waitFor } from "./agents";

const NETWORK = "ov1";
const fixture = new NetnsFixture();
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-overlay-it-"));
const agents: AgentProcess[] = [];
let hosts: UnderlayHost[] = [];
let etcdHost: UnderlayHost;
let etcd: EtcdMember;

function startAgent(
  host: UnderlayHost,
  options: { network?: string; ttl?: number; extraArgs?: string[] } = {},
): AgentProcess {
  const agent = new AgentProcess({
    host,
    endpoint: etcd.endpoint,
    network: options.network ?? NETWORK,
    stateDir: path.join(stateDir, options.network ?? NETWORK),
    ...options,
  });
  agents.push(agent);
  return agent;
}

const addressesOf = (list: UnderlayHost[]): string[] => list.map((host) => host.address);

beforeAll(async () => {
  const all = fixture.underlay({ hosts: 8 });
  etcdHost = all[0]!;
  hosts = all.slice(1);
  etcd = await EtcdMember.start({
    netnsPath: etcdHost.path,
    address: etcdHost.address,
    dataDir: path.join(stateDir, "etcd"),
    logFile: path.join(stateDir, "etcd.log"),
  });
  const config = overlayCli(etcdHost, [
    "config",
    "--etcd",
    etcd.endpoint,
    "--network",
    NETWORK,
    "--set",
    JSON.stringify({ network: "10.20.0.0/16", subnetLen: 24 }),
  ]);
  expect(config.stderr).toBe("");
  expect(config.status).toBe(0);
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop("SIGKILL")));
  await etcd?.stop({ removeData: true });
  fixture.cleanup();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("overlay agent on etcd", () => {
  const first: AgentProcess[] = [];

  it("three hosts join: every peersFile lists all three, each host has its own subnet and the overlay MTU", async () => {
    first.push(...hosts.slice(0, 3).map((host) => startAgent(host)));
    const expected = addressesOf(hosts.slice(0, 3));
    await waitFor("three peers everywhere", () => first.every((agent) => sameMembers(agent.peers(), expected)), 30_000); // generous: returns as soon as it holds; etcd lease expiry lags under load
    const subnets = first.map((agent) => agent.subnet());
    expect(new Set(subnets.map((file) => file?.subnet)).size).toBe(3);
    for (const [index, file] of subnets.entries()) {
      expect(file).toMatchObject({ network: "10.20.0.0/16", mtu: 1450, hostId: hosts[index]!.address });
      expect(file?.subnet).toMatch(/^10\.20\.\d+\.0\/24$/);
    }
    const listing = overlayCli(etcdHost, ["leases", "--etcd", etcd.endpoint, "--network", NETWORK, "--json"]);
    expect((JSON.parse(listing.stdout) as { subnet: string }[]).map((lease) => lease.subnet).sort()).toEqual(
      subnets.map((file) => file?.subnet).sort(),
    );
  });

  it("a fourth host appears in every other peersFile within a couple of seconds", async () => {
    const fourth = startAgent(hosts[3]!);
    await waitFor("the fourth agent's lease", () => fourth.subnet() !== undefined, 30_000); // generous: returns as soon as it holds; etcd lease expiry lags under load
    const expected = addressesOf(hosts.slice(0, 4));
    await waitFor(
      "the fourth host everywhere",
      () => [...first, fourth].every((agent) => sameMembers(agent.peers(), expected)),
      10_000,
    ); // "within a few seconds" (issue 10), with room for a loaded CI machine
  });

  it("an agent restarted within the TTL gets its subnet back and the others never see it leave", async () => {
    const before = first[1]!.subnet()?.subnet;
    expect(await first[1]!.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(first[1]!.log).toMatch(/SIGTERM: stopping \(lease kept/);
    const again = startAgent(hosts[1]!);
    await waitFor("the restarted agent's lease", () => /leased/.test(again.log), 30_000); // generous: returns as soon as it holds; etcd lease expiry lags under load
    expect(again.subnet()?.subnet).toBe(before);
    first[1] = again;
    expect(first[0]!.log).not.toContain(`host left: ${hosts[1]!.address}`);
  });

  it("a killed agent's lease expires and the others drop the host; it comes back with the same subnet", async () => {
    const fourth = agents.find((agent) => agent.running && agent.peersFile.includes(hosts[3]!.name))!;
    const subnet = fourth.subnet()?.subnet;
    await fourth.stop("SIGKILL");
    const expected = addressesOf(hosts.slice(0, 3));
    await waitFor(
      "the killed host gone everywhere",
      () => first.every((agent) => sameMembers(agent.peers(), expected)),
      30_000,
    ); // generous: returns as soon as it holds; etcd lease expiry lags under load
    expect(first[0]!.log).toContain(`host left: ${hosts[3]!.address}`);
    // Long TTL: its disappearance below can only come from the revocation.
    const back = startAgent(hosts[3]!, { ttl: 60, extraArgs: ["--revoke-on-exit"] });
    await waitFor(
      "the host back everywhere",
      () => first.every((agent) => sameMembers(agent.peers(), addressesOf(hosts.slice(0, 4)))),
      30_000,
    ); // generous: returns as soon as it holds; etcd lease expiry lags under load
    expect(back.subnet()?.subnet).toBe(subnet);
    expect(await back.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(back.log).toContain("lease revoked");
    await waitFor(
      "the revoked host gone everywhere",
      () => first.every((agent) => sameMembers(agent.peers(), expected)),
      10_000,
    ); // "within a few seconds" (issue 10), with room for a loaded CI machine
  });

  it("etcd restarted: nothing is lost meanwhile and a host that started during the outage joins after", async () => {
    const subnetsBefore = first.map((agent) => agent.subnet()?.subnet);
    const expectedBefore = addressesOf(hosts.slice(0, 3));
    await etcd.stop();
    // Longer than two TTLs: the agents' leases count as lost and must be claimed again.
    const late = startAgent(hosts[4]!);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(first.every((agent) => sameMembers(agent.peers(), expectedBefore))).toBe(true);
    expect(first[0]!.log).toContain("etcd unreachable: keeping the last known 3 host(s)");
    await etcd.restart();
    const expected = addressesOf([...hosts.slice(0, 3), hosts[4]!]);
    await waitFor(
      "all four after the restart",
      () => [...first, late].every((agent) => sameMembers(agent.peers(), expected)),
      30_000,
    ); // generous: returns as soon as it holds; etcd lease expiry lags under load
    expect(first.map((agent) => agent.subnet()?.subnet)).toEqual(subnetsBefore);
    expect(first[0]!.log).not.toMatch(/host left: 198\.18\.0\.[234] /);
  });

  it("agents asking at once never get the same subnet", async () => {
    const network = "race";
    // Exactly as many subnets as agents: any double grant would leave one without.
    const pool = { network: "10.30.0.0/24", subnetLen: 27, subnetMin: "10.30.0.32", subnetMax: "10.30.0.224" };
    expect(
      overlayCli(etcdHost, ["config", "--etcd", etcd.endpoint, "--network", network, "--set", JSON.stringify(pool)])
        .status,
    ).toBe(0);
    const racers = hosts.map((host) => startAgent(host, { network }));
    await waitFor("every racer leased", () => racers.every((agent) => agent.subnet() !== undefined), 20_000);
    const subnets = racers.map((agent) => agent.subnet()?.subnet);
    expect(new Set(subnets).size).toBe(hosts.length);
    await waitFor(
      "every racer sees all",
      () => racers.every((agent) => sameMembers(agent.peers(), addressesOf(hosts))),
      30_000,
    ); // generous: returns as soon as it holds; etcd lease expiry lags under load
  });
});
