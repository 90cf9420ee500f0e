import { describe, expect, it } from "vitest";
import { formatIp } from "../../../src/ip/address";
import { DEFAULT_DATA_DIR, type HostLocalNetConf, loadHostLocalConfig } from "../../../ipam/host-local/config";
import { rangeLabel } from "../../../ipam/host-local/range";

function conf(ipam: Record<string, unknown>, extra: Partial<HostLocalNetConf> = {}): HostLocalNetConf {
  return { cniVersion: "1.1.0", name: "net1", type: "bridge", ipam: { type: "host-local", ...ipam }, ...extra };
}

const noArgs = new Map<string, string>();

function labels(netConf: HostLocalNetConf, args = noArgs): string[][] {
  return loadHostLocalConfig(netConf, args).rangeSets.map((set) => set.map(rangeLabel));
}

describe("host-local config", () => {
  it("ranges: v4 and v6 range sets, with defaults", () => {
    expect(labels(conf({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "fd00::/64" }]] }))).toEqual([
      ["10.1.0.0/24 (10.1.0.1-10.1.0.254)"],
      ["fd00::/64 (fd00::1-fd00::ffff:ffff:ffff:ffff)"],
    ]);
  });

  it("the legacy single range comes first, before ranges", () => {
    const netConf = conf({
      subnet: "10.9.0.0/24",
      rangeStart: "10.9.0.10",
      rangeEnd: "10.9.0.20",
      gateway: "10.9.0.254",
      ranges: [[{ subnet: "fd00::/64" }]],
    });
    const config = loadHostLocalConfig(netConf, noArgs);
    expect(config.rangeSets.map((set) => set.map(rangeLabel))).toEqual([
      ["10.9.0.0/24 (10.9.0.10-10.9.0.20)"],
      ["fd00::/64 (fd00::1-fd00::ffff:ffff:ffff:ffff)"],
    ]);
    expect(formatIp(config.rangeSets[0]![0]!.gateway!)).toBe("10.9.0.254");
  });

  it("the ipRanges capability replaces the configured ranges", () => {
    const netConf = conf(
      { ranges: [[{ subnet: "10.1.0.0/24" }]] },
      { runtimeConfig: { ipRanges: [[{ subnet: "10.1.0.0/25" }]] } },
    );
    expect(labels(netConf)).toEqual([["10.1.0.0/25 (10.1.0.1-10.1.0.126)"]]);
  });

  it("defaults dataDir, keeps routes and resolvConf", () => {
    const config = loadHostLocalConfig(
      conf({ subnet: "10.1.0.0/24", routes: [{ dst: "0.0.0.0/0" }], resolvConf: "/etc/resolv.conf" }),
      noArgs,
    );
    expect(config).toMatchObject({
      dataDir: DEFAULT_DATA_DIR,
      network: "net1",
      routes: [{ dst: "0.0.0.0/0" }],
      resolvConf: "/etc/resolv.conf",
    });
  });

  it("requested addresses from CNI_ARGS IP= (comma-separated), args.cni.ips and the ips capability", () => {
    const netConf = conf(
      { subnet: "10.1.0.0/24" },
      { args: { cni: { ips: ["10.1.0.7"] } }, runtimeConfig: { ips: ["fd00::5/64"] } },
    );
    const config = loadHostLocalConfig(netConf, new Map([["IP", "10.1.0.5,10.1.0.6"]]));
    expect(config.requested.map(formatIp)).toEqual(["10.1.0.5", "10.1.0.6", "10.1.0.7", "fd00::5"]);
    expect(() => loadHostLocalConfig(netConf, new Map([["IP", "10.1.0.300"]]))).toThrow(
      expect.objectContaining({ code: 4, message: expect.stringContaining("10.1.0.300") }),
    );
  });

  const refused: Array<[string, HostLocalNetConf, RegExp]> = [
    [
      "overlapping range sets, naming both",
      conf({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.1.0.128/25" }]] }),
      /ipam\.ranges\[0\]\[0\] 10\.1\.0\.0\/24 .*overlaps ipam\.ranges\[1\]\[0\] 10\.1\.0\.128\/25/,
    ],
    ["overlap inside one set", conf({ ranges: [[{ subnet: "10.1.0.0/24" }, { subnet: "10.1.0.0/16" }]] }), /overlaps/],
    [
      "legacy subnet overlapping ranges",
      conf({ subnet: "10.1.0.0/24", ranges: [[{ subnet: "10.1.0.0/24" }]] }),
      /ipam 10\.1\.0\.0\/24.*overlaps ipam\.ranges\[0\]\[0\]/,
    ],
    [
      "mixed families in one set",
      conf({ ranges: [[{ subnet: "10.1.0.0/24" }, { subnet: "fd00::/64" }]] }),
      /mixes address families/,
    ],
    [
      "rangeStart outside the subnet",
      conf({ ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.2.0.1" }]] }),
      /ipam\.ranges\[0\]\[0\]\.rangeStart: 10\.2\.0\.1 is not in subnet 10\.1\.0\.0\/24/,
    ],
    [
      "rangeStart after rangeEnd",
      conf({ ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.1.0.9", rangeEnd: "10.1.0.3" }]] }),
      /after rangeEnd/,
    ],
    ["a subnet that is not a CIDR", conf({ subnet: "10.1.0.0" }), /ipam\.subnet: "10\.1\.0\.0" is not a CIDR/],
    [
      "a /32 whose only address is the gateway",
      conf({ subnet: "10.1.0.1/32", gateway: "10.1.0.1" }),
      /no address to hand out/,
    ],
    ["no ranges at all", conf({}), /no IP ranges/],
    ["no ipam key", { cniVersion: "1.1.0", name: "net1", type: "host-local" }, /ipam: missing/],
    [
      "a network name that leaves the data directory",
      conf({ subnet: "10.1.0.0/24" }, { name: "../../etc" }),
      /name: "\.\.\/\.\.\/etc" is not a valid network name/,
    ],
    ["a relative dataDir", conf({ subnet: "10.1.0.0/24", dataDir: "var/lib" }), /not an absolute path/],
    [
      "two IPv4 sets with cniVersion 0.2.0",
      conf({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.2.0.0/24" }]] }, { cniVersion: "0.2.0" }),
      /allows one IPv4 range set/,
    ],
    [
      "a route that is not a CIDR",
      conf({ subnet: "10.1.0.0/24", routes: [{ dst: "default" }] }),
      /ipam\.routes\[0\]\.dst: "default"/,
    ],
  ];
  for (const [name, netConf, message] of refused) {
    it(`refuses ${name} (code 7)`, () => {
      expect(() => loadHostLocalConfig(netConf, noArgs)).toThrow(
        expect.objectContaining({ code: 7, message: expect.stringMatching(message) }),
      );
    });
  }
});
