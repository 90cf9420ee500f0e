// `cnikit probe` between namespaces on an underlay switch: every pair ok, then a pair
// broken on purpose (a lowered MTU, an address nobody has) named as such, exit 1.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost } from "../../../netns-fixtures";
import { runChecked } from "../../../netns-fixtures/ip";
import { cnikit, expectOneLineFailure } from "./run-cli";

interface PairReport {
  from: string;
  to: string;
  verdict: string;
  received: number;
  rttMs?: { avg: number };
  largestPayload?: number;
  payloadLimit?: number;
}

const fixture = new NetnsFixture();
let hosts: UnderlayHost[];

beforeAll(() => {
  hosts = fixture.underlay({ hosts: 3 });
});
afterAll(() => fixture.cleanup());

const endpoints = (): string[] => hosts.map((host) => `${host.name}=${host.address}`);

function agentsLeft(): string[] {
  const ps = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" });
  return ps.stdout.split("\n").filter((line) => line.includes(" probe-agent "));
}

describe("cnikit probe", () => {
  it("reports every pair of a healthy underlay reachable, with RTT and the full datagram size", () => {
    const run = cnikit(["probe", "--json", ...endpoints()]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const reports = JSON.parse(run.stdout) as PairReport[];
    expect(reports).toHaveLength(6);
    for (const report of reports) {
      expect(report).toMatchObject({ verdict: "ok", received: 3, largestPayload: 1472, payloadLimit: 1472 });
      expect(report.rttMs?.avg).toBeGreaterThan(0);
    }
    expect(agentsLeft()).toEqual([]);
  });

  it("prints a matrix", () => {
    const run = cnikit(["probe", "--no-sizes", ...endpoints()]);
    expect(run.status).toBe(0);
    const [header, ...rows] = run.stdout.split("\n");
    expect(header).toMatch(new RegExp(`^FROM \\\\ TO\\s+${hosts[0]?.name}\\s+${hosts[1]?.name}\\s+${hosts[2]?.name}$`));
    expect(rows[0]).toMatch(new RegExp(`^${hosts[0]?.name}\\s+-\\s+ok \\d+\\.\\d+ms\\s+ok \\d+\\.\\d+ms$`));
    expect(run.stdout).toMatch(/all 6 pairs ok\n$/);
  });

  it("names an MTU black hole and exits 1", () => {
    const [sender, receiver] = hosts as [UnderlayHost, UnderlayHost];
    // The receiver's link takes at most 1400-byte packets; the sender still sends 1500.
    runChecked(["ip", "-n", receiver.name, "link", "set", receiver.underlayIf, "mtu", "1400"]);
    try {
      const run = cnikit([
        "probe",
        "--json",
        "--from",
        sender.name,
        "--to",
        receiver.name,
        "--address",
        receiver.address,
      ]);
      expect(run.status).toBe(1);
      const [report] = JSON.parse(run.stdout) as PairReport[];
      expect(report?.verdict).toBe("mtu-black-hole");
      expect(report?.payloadLimit).toBe(1472);
      // veth accepts up to MTU + 4 bytes (room for a VLAN tag): 1404-byte IP packets.
      expect(report?.largestPayload).toBeGreaterThanOrEqual(1372);
      expect(report?.largestPayload).toBeLessThan(1472);
      const text = cnikit(["probe", "--from", sender.name, "--to", receiver.name, "--address", receiver.address]);
      expect(text.stdout).toMatch(/mtu-black-hole: datagrams over 13\d\d bytes are lost/);
      expect(text.stdout).toMatch(/1 of 1 pairs failed/);
    } finally {
      runChecked(["ip", "-n", receiver.name, "link", "set", receiver.underlayIf, "mtu", "1500"]);
    }
  });

  it("names an unreachable pair and exits 1", () => {
    const [sender, receiver] = hosts as [UnderlayHost, UnderlayHost];
    const run = cnikit([
      "probe",
      "--json",
      "--timeout",
      "200",
      "--from",
      sender.name,
      "--to",
      receiver.name,
      "--address",
      "198.18.0.99",
    ]);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ verdict: "unreachable", received: 0 })]);
    expect(agentsLeft()).toEqual([]);
  });

  it("refuses bad arguments with one line", () => {
    const [sender] = hosts as [UnderlayHost];
    // No arguments means "the only lab up": point at a lab directory with none, whatever else runs here.
    expect(expectOneLineFailure(cnikit(["probe"], { env: { CNIKIT_LAB_DIR: "/nonexistent/cnikit-labs" } }))).toMatch(
      /nothing to probe: no lab is up/,
    );
    expect(expectOneLineFailure(cnikit(["probe", "--from", sender.name]))).toMatch(/go together/);
    expect(expectOneLineFailure(cnikit(["probe", `${sender.name}=not-an-ip`, `${sender.name}=198.18.0.1`]))).toMatch(
      /not an IP address/,
    );
    expect(expectOneLineFailure(cnikit(["probe", "justaname", `${sender.name}=198.18.0.1`]))).toMatch(
      /want NETNS=ADDRESS/,
    );
    expect(
      expectOneLineFailure(cnikit(["probe", `${fixture.prefix}absent=10.1.1.1`, `${sender.name}=198.18.0.1`])),
    ).toMatch(/does not exist/);
    expect(expectOneLineFailure(cnikit(["probe", "--port", "70000", ...endpoints()]))).toMatch(
      /--port must be an integer/,
    );
  });
});
