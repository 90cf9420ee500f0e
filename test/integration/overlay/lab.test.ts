// `cnikit lab up` with `membership: etcd`: an etcd member in a namespace of its own on
// the underlay, an agent per host, every container reaching every other; `lab down`
// stops them and removes their data.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsFixture } from "../../../netns-fixtures";
import { listNetnsNames } from "../../../netns-fixtures/ip";
import { cnikit, cnikitOk } from "../cli/run-cli";

const fixture = new NetnsFixture();
const lab = `${fixture.prefix}et`;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-etcd-lab-"));
const stateFile = `/run/cnikit/labs/${lab}.json`;

afterAll(() => {
  try {
    cnikit(["lab", "down", "--quiet", lab]);
  } finally {
    fixture.cleanup();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`);

describe("cnikit lab with membership etcd", () => {
  let pids: number[] = [];
  let stateDir = "";

  it("comes up with etcd and an agent per host, and every pair of containers probes ok", () => {
    const topology = path.join(workDir, "topology.json");
    fs.writeFileSync(topology, JSON.stringify({ name: lab, membership: "etcd", hosts: 3, containersPerHost: 1 }));
    const run = cnikit(["lab", "up", topology], { timeoutMs: 90_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^\+ etcd http:\/\/198\.18\.0\.254:2379/m);
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as {
      membership: { etcdPid: number; agents: Record<string, number> };
      plan: { stateDir: string };
    };
    pids = [state.membership.etcdPid, ...Object.values(state.membership.agents)];
    stateDir = state.plan.stateDir;
    expect(pids.every(alive)).toBe(true);
    const peers = JSON.parse(fs.readFileSync(path.join(stateDir, "h1", "overlay", "peers.json"), "utf8")) as {
      address: string;
      subnet: string;
    }[];
    // The agents asked for the lab's planned slices, so tables and leases agree.
    expect(peers).toEqual([
      { address: "198.18.0.1", subnet: "10.10.1.0/24" },
      { address: "198.18.0.2", subnet: "10.10.2.0/24" },
      { address: "198.18.0.3", subnet: "10.10.3.0/24" },
    ]);
    const reports = JSON.parse(cnikitOk(["probe", "--json", "--lab", lab], { timeoutMs: 90_000 })) as {
      verdict: string;
    }[];
    expect(reports).toHaveLength(6);
    expect(reports.every((report) => report.verdict === "ok")).toBe(true);
  });

  it("down stops etcd and the agents and removes every namespace and their data", async () => {
    const run = cnikit(["lab", "down", lab]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^- etcd /m);
    const deadline = Date.now() + 5_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pids.filter(alive)).toEqual([]);
    expect(listNetnsNames().filter((name) => name.startsWith(`${lab}-`))).toEqual([]);
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
