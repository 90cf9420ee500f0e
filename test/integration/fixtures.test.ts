// The fixtures themselves: namespaces appear and disappear, the underlay carries
// traffic, and stale namespaces of dead runs are removed while live ones stay.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import {
  NetnsFixture,
  addrs,
  cleanupStale,
  fdb,
  links,
  nsExec,
  ping,
  routes,
  runPrefix,
  udpProbe,
} from "../../netns-fixtures";
import { listNetnsNames } from "../../netns-fixtures/ip";
import { PREFIX_ENV, readMarker, removeMarker } from "../../netns-fixtures/naming";

const fixture = new NetnsFixture();
afterAll(() => fixture.cleanup());

describe("netns fixtures", () => {
  it("shares the run prefix set by the global setup", () => {
    expect(runPrefix()).toBe(process.env[PREFIX_ENV]);
    expect(fixture.prefix.startsWith(runPrefix())).toBe(true);
    expect(readMarker(runPrefix())).toBeDefined();
  });

  it("creates a namespace with lo up and removes it", () => {
    const scratch = new NetnsFixture();
    try {
      const ctr = scratch.containerNetns();
      expect(fs.existsSync(ctr.path)).toBe(true);
      const lo = links(ctr).find((link) => link.ifname === "lo");
      expect(lo?.flags).toContain("UP");
      expect(nsExec(ctr, ["cat", "/proc/net/dev"]).stdout).toContain("lo:");
    } finally {
      scratch.cleanup();
    }
    expect(listNetnsNames().filter((name) => name.startsWith(scratch.prefix))).toEqual([]);
  });

  it("builds an underlay whose hosts exchange UDP", async () => {
    const [first, second, third] = fixture.underlay({ hosts: 3 });
    if (!first || !second || !third) throw new Error("underlay returned too few hosts");
    expect(third.address).toBe("198.18.0.3");
    const firstAddrs = addrs(first).find((entry) => entry.ifname === "ul0")?.addr_info;
    expect(firstAddrs).toContainEqual(expect.objectContaining({ local: "198.18.0.1", prefixlen: 24 }));
    expect(routes(first, 4)).toContainEqual(expect.objectContaining({ dst: "198.18.0.0/24", dev: "ul0" }));
    expect(await udpProbe({ from: first, to: third, address: third.address })).toBe(true);
    expect(await udpProbe({ from: third, to: second, address: second.address })).toBe(true);
    // Nothing listens on an address no host has.
    expect(await udpProbe({ from: first, to: second, address: "198.18.0.77", timeoutMs: 800 })).toBe(false);
    const switchNs = `${fixture.prefix}ul0sw`;
    expect(fdb(switchNs, "p0").length).toBeGreaterThan(0);
    if (spawnSync("which", ["ping"]).status === 0) expect(ping(second, first.address)).toBe(true);
  });

  it("builds an IPv6 underlay (fd00:18::/64, settled at once) whose hosts exchange UDP", async () => {
    const [first, second] = fixture.underlay({ hosts: 2, ipv6: true });
    if (!first || !second) throw new Error("underlay returned too few hosts");
    expect(second.address).toBe("fd00:18::2");
    expect(second.prefixLength).toBe(64);
    const info = addrs(second)
      .find((entry) => entry.ifname === "ul0")
      ?.addr_info.filter((entry) => entry.family === "inet6" && entry.scope === "global");
    expect(info).toEqual([expect.objectContaining({ local: "fd00:18::2", prefixlen: 64 })]);
    expect(info?.[0]?.tentative).toBeUndefined();
    expect(await udpProbe({ from: first, to: second, address: second.address })).toBe(true);
  });

  it("cleanupStale removes the namespaces of a dead run and keeps live ones", () => {
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const deadPid = Number(dead.stdout);
    const stalePrefix = `ckz${String(deadPid % 10_000).padStart(4, "0")}-`;
    // The pid has exited; the start time would also catch a recycled pid.
    fs.writeFileSync(
      `/run/cnikit-fixtures/${stalePrefix.slice(0, -1)}.json`,
      JSON.stringify({ pid: deadPid, startTime: "1" }),
    );
    const staleName = `${stalePrefix}left`;
    try {
      spawnSync("ip", ["netns", "add", staleName]);
      const live = fixture.hostNetns();
      const removed = cleanupStale();
      expect(removed).toContain(staleName);
      expect(listNetnsNames()).not.toContain(staleName);
      expect(listNetnsNames()).toContain(live.name);
      expect(readMarker(stalePrefix)).toBeUndefined();
    } finally {
      spawnSync("ip", ["netns", "del", staleName]);
      removeMarker(stalePrefix);
    }
  });

  it("leaves nothing behind after cleanup", () => {
    fixture.cleanup();
    expect(listNetnsNames().filter((name) => name.startsWith(fixture.prefix))).toEqual([]);
  });
});
