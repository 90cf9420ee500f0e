// The pool changed while agents run: two hosts fill a two-subnet pool, a third waits;
// a change that would take a live host's subnet away is refused naming it; widening the
// network is accepted without --force, the waiting agent (the same process) claims from
// the widened part, and the running agents' subnetFiles name the wider network.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost } from "../../../netns-fixtures";
import { EtcdMember } from "../../../overlay/membership/etcd-member";
import { AgentProcess, overlayCli, sameMembers, waitFor } from "./agents";

const NETWORK = "poolnet";
const fixture = new NetnsFixture();
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-pool-change-"));
const agents: AgentProcess[] = [];
let etcdHost: UnderlayHost;
let hosts: UnderlayHost[] = [];
let etcd: EtcdMember;

const setPool = (pool: Record<string, unknown>) =>
  overlayCli(etcdHost, ["config", "--etcd", etcd.endpoint, "--network", NETWORK, "--set", JSON.stringify(pool)]);

function startAgent(host: UnderlayHost): AgentProcess {
  const agent = new AgentProcess({ host, endpoint: etcd.endpoint, network: NETWORK, stateDir, ttl: 4 });
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  const all = fixture.underlay({ hosts: 4 });
  etcdHost = all[0] as UnderlayHost;
  hosts = all.slice(1);
  etcd = await EtcdMember.start({
    netnsPath: etcdHost.path,
    address: etcdHost.address,
    dataDir: path.join(stateDir, "etcd"),
  });
  // 10.60.0.0/22 in /24s, the all-zeros one skipped: room for 10.60.1.0 and 10.60.2.0 only.
  expect(setPool({ network: "10.60.0.0/22", subnetLen: 24, subnetMax: "10.60.2.0" }).status).toBe(0);
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop("SIGKILL")));
  await etcd?.stop({ removeData: true });
  fixture.cleanup();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("pool changes while agents run", () => {
  let first: AgentProcess;
  let second: AgentProcess;
  let third: AgentProcess;

  it("two hosts fill the pool; a third waits for room", async () => {
    first = startAgent(hosts[0] as UnderlayHost);
    second = startAgent(hosts[1] as UnderlayHost);
    await waitFor("two leases", () => first.subnet() !== undefined && second.subnet() !== undefined, 30_000); // generous: returns as soon as it holds
    expect([first.subnet()?.subnet, second.subnet()?.subnet].sort()).toEqual(["10.60.1.0/24", "10.60.2.0/24"]);
    third = startAgent(hosts[2] as UnderlayHost);
    await waitFor("the third agent to report a full pool", () => /no free \/24/.test(third.log), 30_000);
    expect(third.subnet()).toBeUndefined();
  });

  it("refuses a pool that would take a live host's subnet away, naming it", () => {
    const holder = [first, second].find((agent) => agent.subnet()?.subnet === "10.60.2.0/24");
    const refused = setPool({ network: "10.60.0.0/22", subnetLen: 24, subnetMax: "10.60.1.0" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`10.60.2.0/24 of host ${holder?.subnet()?.hostId}`);
    const otherLength = setPool({ network: "10.60.0.0/16", subnetLen: 25 });
    expect(otherLength.status).toBe(1);
    expect(otherLength.stderr).toMatch(/would take away 10\.60\.\d\.0\/24 of host .*, 10\.60\.\d\.0\/24 of host/);
  });

  it("a widened network is used at once: the waiting agent claims from it, the others' files follow", async () => {
    const widened = setPool({ network: "10.60.0.0/21", subnetLen: 24 });
    expect(widened.stderr).toBe("");
    expect(widened.status).toBe(0);
    await waitFor("the third lease", () => third.subnet() !== undefined, 15_000);
    expect(third.running).toBe(true); // not restarted: the same process
    expect(third.subnet()?.subnet).toMatch(/^10\.60\.[3-7]\.0\/24$/);
    const all = hosts.slice(0, 3).map((host) => host.address);
    await waitFor(
      "every peersFile listing three hosts",
      () => [first, second, third].every((a) => sameMembers(a.peers(), all)),
      15_000,
    );
    await waitFor(
      "the wider network in the running agents' subnetFiles",
      () => [first, second].every((a) => a.subnet()?.network === "10.60.0.0/21"),
      15_000,
    );
    expect(first.log).toMatch(/pool changed: 10\.60\.0\.0\/21/);
  });
});
