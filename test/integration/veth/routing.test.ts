// Two containers on one host, point-to-point: real traffic between them and the host,
// IPv4 and IPv6, and the same routes and addresses the reference ptp installs for the
// same config (ptp in one host namespace, ours in another).
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, links, nsExec, ping, udpProbe } from "../../../netns-fixtures";
import {
  hasReference,
  hostVeths,
  maskedResult,
  network,
  reference,
  resultAddresses,
  routingView,
  succeed,
  testBed,
} from "./harness";

const { fixture, workDir } = testBed("routing");

function config(dataDir: string): Record<string, unknown> {
  return network({
    dataDir,
    subnet: 1,
    ipv6: true,
    extra: { mtu: 1400, dns: { nameservers: ["10.66.1.1"], search: ["example.test"] } },
  });
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
    firstResult = await succeed({
      command: "ADD",
      host,
      netns: first.path,
      containerId: "ctr-a",
      config: config(dataDir),
    });
    hostWithFirst = routingView(host);
    secondResult = await succeed({
      command: "ADD",
      host,
      netns: second.path,
      containerId: "ctr-b",
      config: config(dataDir),
    });
  });

  it("gives each container its addresses and both ends the MTU, and turns forwarding on", () => {
    expect(resultAddresses(firstResult)).toEqual(["10.66.1.2", "fd66:1::2"]);
    expect(resultAddresses(secondResult)).toEqual(["10.66.1.3", "fd66:1::3"]);
    const mtus = hostVeths(host).map((name) => links(host).find((link) => link.ifname === name)?.mtu);
    expect(mtus).toEqual([1400, 1400]);
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

    // biome-ignore lint/suspicious/noDuplicateTestHooks: the rule does not see describe.skipIf as a new scope
    beforeAll(async () => {
      refHost = fixture.hostNetns();
      refContainer = fixture.containerNetns();
      refResult = await succeed({
        impl: reference,
        command: "ADD",
        host: refHost,
        netns: refContainer.path,
        containerId: "ctr-a",
        config: config(path.join(workDir, "ref")),
      });
    });

    it("installs the same routes and addresses in the container", () => {
      expect(routingView(first)).toEqual(routingView(refContainer));
    });

    it("installs the same routes and addresses on the host", () => {
      expect(hostWithFirst).toEqual(routingView(refHost));
    });

    it("returns the same result", () => {
      expect(maskedResult(firstResult)).toEqual(maskedResult(refResult));
    });
  });
});
