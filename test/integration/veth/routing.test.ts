// Two containers on one host, point-to-point: real traffic between them and the host,
// IPv4 and IPv6, and the same routes and addresses the reference ptp installs for the
// same config (ptp in one host namespace, ours in another).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, links, nsExec, ping, udpProbe } from "../../../netns-fixtures";
import { hasReference, network, reference, resultAddresses, routingView, succeed } from "./harness";

const fixture = new NetnsFixture();
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-veth-routing-"));
afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

function config(dataDir: string): Record<string, unknown> {
  return network({ dataDir, subnet: 1, ipv6: true, extra: { mtu: 1400, dns: { nameservers: ["10.66.1.1"], search: ["example.test"] } } });
}

/** An ADD result with what legitimately differs between two runs (names, MACs, paths) masked. */
function comparableResult(result: Record<string, unknown>): unknown {
  return JSON.parse(
    JSON.stringify(result)
      .replace(/"veth[0-9a-f]+"/g, '"<veth>"')
      .replace(/"[0-9a-f]{2}(:[0-9a-f]{2}){5}"/g, '"<mac>"')
      .replace(/"\/run\/netns\/[^"]+"/g, '"<netns>"'),
  );
}

function sysctl(netns: Netns, key: string): string {
  return nsExec(netns, ["cat", `/proc/sys/${key.replace(/\./g, "/")}`]).stdout.trim();
}

describe("veth: two containers on one host", () => {
  let host: Netns;
  let first: Netns;
  let second: Netns;
  let firstResult: Record<string, unknown>;
  let secondResult: Record<string, unknown>;
  /** The host as the first ADD left it, to compare with the reference host (one container). */
  let hostWithFirst: ReturnType<typeof routingView>;
  const dataDir = path.join(workDir, "ours");

  beforeAll(async () => {
    host = fixture.hostNetns();
    first = fixture.containerNetns();
    second = fixture.containerNetns();
    firstResult = await succeed({ command: "ADD", host, netns: first.path, containerId: "ctr-a", config: config(dataDir) });
    hostWithFirst = routingView(host);
    secondResult = await succeed({ command: "ADD", host, netns: second.path, containerId: "ctr-b", config: config(dataDir) });
  });

  it("gives each container its addresses and both ends the MTU, and turns forwarding on", () => {
    expect(resultAddresses(firstResult)).toEqual(["10.66.1.2", "fd66:1::2"]);
    expect(resultAddresses(secondResult)).toEqual(["10.66.1.3", "fd66:1::3"]);
    const hostVeths = links(host).filter((link) => link.linkinfo?.info_kind === "veth");
    expect(hostVeths.map((link) => link.mtu)).toEqual([1400, 1400]);
    expect(links(first).find((link) => link.ifname === "eth0")?.mtu).toBe(1400);
    expect(sysctl(host, "net.ipv4.ip_forward")).toBe("1");
    expect(sysctl(host, "net.ipv6.conf.all.forwarding")).toBe("1");
  });

  it("carries IPv4 between the containers and to and from the host", async () => {
    expect(await udpProbe({ from: first, to: second, address: "10.66.1.3" })).toBe(true);
    expect(await udpProbe({ from: second, to: first, address: "10.66.1.2" })).toBe(true);
    expect(await udpProbe({ from: first, to: host, address: "10.66.1.1" })).toBe(true);
    expect(await udpProbe({ from: host, to: second, address: "10.66.1.3" })).toBe(true);
    expect(ping(first, "10.66.1.3", 3)).toBe(true);
  });

  it("carries IPv6 between the containers and to and from the host", async () => {
    expect(await udpProbe({ from: first, to: second, address: "fd66:1::3" })).toBe(true);
    expect(await udpProbe({ from: second, to: first, address: "fd66:1::2" })).toBe(true);
    expect(await udpProbe({ from: first, to: host, address: "fd66:1::1" })).toBe(true);
    expect(await udpProbe({ from: host, to: first, address: "fd66:1::2" })).toBe(true);
    expect(ping(second, "fd66:1::2", 3)).toBe(true);
  });

  describe.skipIf(!hasReference)("against the reference ptp, same config", () => {
    let refHost: Netns;
    let refContainer: Netns;
    let refResult: Record<string, unknown>;

    beforeAll(async () => {
      refHost = fixture.hostNetns();
      refContainer = fixture.containerNetns();
      refResult = await succeed({ impl: reference, command: "ADD", host: refHost, netns: refContainer.path, containerId: "ctr-a", config: config(path.join(workDir, "ref")) });
    });

    it("installs the same routes and addresses in the container", () => {
      expect(routingView(first)).toEqual(routingView(refContainer));
    });

    it("installs the same routes and addresses on the host", () => {
      expect(hostWithFirst).toEqual(routingView(refHost));
    });

    it("returns the same result", () => {
      expect(comparableResult(firstResult)).toEqual(comparableResult(refResult));
    });
  });
});
