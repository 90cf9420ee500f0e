import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors";
import { loadOverlayConfig } from "../../../overlay/plugin/config";
import { applySubnetFile } from "../../../overlay/plugin/subnet-file";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-subnetfile-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const subnetFile = path.join(dir, "subnet.json");
fs.writeFileSync(
  subnetFile,
  JSON.stringify({
    network: "10.20.0.0/16",
    subnet: "10.20.3.0/24",
    ipv6Network: "fd20::/48",
    ipv6Subnet: "fd20:0:0:3::/64",
    mtu: 1450,
    underlayAddress: "198.18.0.2",
    hostId: "h",
  }),
);

// The loader's view: the config parsed, not yet checked.
const args = (conf: Record<string, unknown>): Record<string, unknown> => conf;
const conf = (completed: Record<string, unknown>): Record<string, unknown> => completed;
const base = { cniVersion: "1.0.0", name: "ov", type: "vxlan-overlay", vni: 42, ipam: { type: "host-local" } };

describe("applySubnetFile", () => {
  it("leaves a config without subnetFile byte for byte alone", () => {
    const original = args(base);
    expect(applySubnetFile(original)).toBe(original);
  });

  it("l3: the host's subnets (dual-stack: both), MTU, local address and IPAM ranges come from the file", () => {
    expect(conf(applySubnetFile(args({ ...base, mode: "l3", subnetFile })))).toEqual({
      ...base,
      mode: "l3",
      subnetFile,
      subnet: "10.20.3.0/24",
      ipv6Subnet: "fd20:0:0:3::/64",
      mtu: 1450,
      localAddress: "198.18.0.2",
      ipam: { type: "host-local", ranges: [[{ subnet: "10.20.3.0/24" }], [{ subnet: "fd20:0:0:3::/64" }]] },
    });
  });

  it("l2: IPAM hands out the host's slice of the whole network, and the bridge gets the slice's first address", () => {
    const completed = conf(applySubnetFile(args({ ...base, subnetFile })));
    expect(completed.hostAddress).toEqual({ "198.18.0.2": "10.20.3.1/16" });
    expect(completed.ipam).toEqual({
      type: "host-local",
      ranges: [
        [{ subnet: "10.20.0.0/16", rangeStart: "10.20.3.2", rangeEnd: "10.20.3.254", gateway: "10.20.3.1" }],
        [
          {
            subnet: "fd20::/48",
            rangeStart: "fd20:0:0:3::2",
            rangeEnd: "fd20::3:ffff:ffff:ffff:ffff",
            gateway: "fd20:0:0:3::1",
          },
        ],
      ],
    });
  });

  it("what the config states wins", () => {
    const ipam = { type: "host-local", ranges: [[{ subnet: "10.20.3.0/25" }]] };
    const completed = conf(
      applySubnetFile(
        args({ ...base, mode: "l3", subnetFile, subnet: "10.20.3.0/24", mtu: 1400, localAddress: "198.18.0.9", ipam }),
      ),
    );
    expect(completed).toMatchObject({ mtu: 1400, localAddress: "198.18.0.9", ipam });
  });

  it("a missing file is code 11 for ADD; DEL goes on without it", () => {
    const missing = args({ ...base, subnetFile: path.join(dir, "none.json") });
    expect(() => applySubnetFile(missing)).toThrow(CniError);
    try {
      applySubnetFile(missing);
    } catch (err) {
      expect((err as CniError).code).toBe(11);
      expect((err as Error).message).toMatch(/subnetFile: cannot read/);
    }
    // host-local still parses a range on DEL (it releases by attachment): a documentation one.
    expect(conf(applySubnetFile(missing, { optional: true })).ipam).toEqual({
      type: "host-local",
      ranges: [[{ subnet: "192.0.2.0/24" }]],
    });
    const withRanges = args({
      ...base,
      subnetFile: path.join(dir, "none.json"),
      ipam: { type: "host-local", subnet: "10.9.0.0/24" },
    });
    expect(applySubnetFile(withRanges, { optional: true })).toBe(withRanges);
  });

  it("a damaged file is code 7 naming subnetFile", () => {
    const damaged = path.join(dir, "damaged.json");
    fs.writeFileSync(damaged, "[1,");
    expect(() => applySubnetFile(args({ ...base, subnetFile: damaged }))).toThrow(
      /subnetFile: .* is not the agent's JSON/,
    );
  });

  it("the loader returns the effective config, and IPAM is delegated its bytes (stdin itself without a subnetFile)", () => {
    const stdin = Buffer.from(JSON.stringify({ ...base, mode: "l3", subnetFile }));
    const config = loadOverlayConfig(stdin);
    expect(config).toMatchObject({ subnet: "10.20.3.0/24", ipv6Subnet: "fd20:0:0:3::/64", mtu: 1450 });
    expect(config.localAddress).toBe("198.18.0.2");
    expect(JSON.parse(config.delegateStdin.toString())).toMatchObject({
      ipam: { type: "host-local", ranges: [[{ subnet: "10.20.3.0/24" }], [{ subnet: "fd20:0:0:3::/64" }]] },
    });
    const plain = Buffer.from(JSON.stringify(base));
    expect(loadOverlayConfig(plain).delegateStdin).toBe(plain);
    const missing = Buffer.from(JSON.stringify({ ...base, subnetFile: path.join(dir, "none.json") }));
    expect(() => loadOverlayConfig(missing)).toThrow(/subnetFile: cannot read/);
    expect(JSON.parse(loadOverlayConfig(missing, { subnetFileOptional: true }).delegateStdin.toString()).ipam).toEqual({
      type: "host-local",
      ranges: [[{ subnet: "192.0.2.0/24" }]],
    });
  });
});
