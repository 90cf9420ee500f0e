// The veth plugin's config (ptp's options) and the checks it makes before touching
// the kernel, run through the skel without a process or root.
import { describe, expect, it, vi } from "vitest";
import { runSkel } from "../../../src/cni/skel";
import { loadVethConfig } from "../../../plugins/veth/config";
import { requireGateways } from "../../../plugins/veth/ptp-routes";
import { vethPlugin } from "../../../plugins/veth/veth";
import { addEnv, fakeIO } from "../cni/fake-io";

const ptpConfig = {
  cniVersion: "1.0.0",
  name: "mynet",
  type: "veth",
  ipMasq: true,
  mtu: 1400,
  ipam: { type: "host-local", subnet: "10.1.1.0/24" },
  dns: { nameservers: ["10.1.1.1", "8.8.8.8"] },
};

function load(config: Record<string, unknown>) {
  return loadVethConfig(Buffer.from(JSON.stringify(config)));
}

async function run(
  env: Record<string, string | undefined>,
  config: unknown,
): Promise<{ status: number; output: Record<string, unknown> }> {
  const io = fakeIO(env, config);
  const status = await runSkel(vethPlugin, { name: "veth" }, io);
  return { status, output: JSON.parse(io.stdout.join("") || "{}") as Record<string, unknown> };
}

describe("veth config", () => {
  it("reads a ptp config as it is", () => {
    expect(load(ptpConfig)).toMatchObject({ mtu: 1400, ipMasq: true, dns: { nameservers: ["10.1.1.1", "8.8.8.8"] } });
  });

  it("treats mtu 0 and a missing mtu as the kernel's default, as ptp does", () => {
    expect(load({ ...ptpConfig, mtu: 0 }).mtu).toBeUndefined();
    expect(load({ ...ptpConfig, mtu: undefined }).mtu).toBeUndefined();
  });

  it("refuses an MTU the kernel never accepts on a veth, naming the field", () => {
    expect(() => load({ ...ptpConfig, mtu: 67 })).toThrow(/mtu: must be 0 \(kernel default\) or at least 68, got 67/);
    expect(() => load({ ...ptpConfig, mtu: 70000 })).toThrow(/mtu/);
    expect(() => load({ ...ptpConfig, mtu: "1400" })).toThrow(/mtu/);
  });

  it("passes dns on only when it sets something", () => {
    expect(load({ ...ptpConfig, dns: {} }).dns).toBeUndefined();
    expect(load({ ...ptpConfig, dns: { domain: "" } }).dns).toBeUndefined();
    expect(load({ ...ptpConfig, dns: { search: ["example.test"] } }).dns).toEqual({ search: ["example.test"] });
  });

  it("defaults ipMasq to off; ipMasqBackend nftables is honoured, iptables refused with code 2 naming it", () => {
    expect(load({ ...ptpConfig, ipMasq: undefined, ipMasqBackend: "nftables" }).ipMasq).toBe(false);
    expect(() => load({ ...ptpConfig, ipMasqBackend: "pf" })).toThrow(/ipMasqBackend/);
    let refused: unknown;
    try {
      load({ ...ptpConfig, ipMasq: true, ipMasqBackend: "iptables" });
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({
      code: 2,
      message: expect.stringMatching(/^ipMasqBackend: "iptables" is not supported/),
    });
  });
});

describe("veth gateways", () => {
  it("pairs every address with its gateway", () => {
    expect(requireGateways([{ address: "10.1.1.5/24", gateway: "10.1.1.1" }])).toEqual([
      { address: "10.1.1.5/24", gateway: "10.1.1.1" },
    ]);
  });

  it("refuses an address without a gateway: the container has no other neighbour", () => {
    expect(() => requireGateways([{ address: "10.1.1.5/24" }])).toThrow(/10\.1\.1\.5\/24 comes without a gateway/);
  });
});

describe("veth through the skel, before any kernel work", () => {
  it("ADD without IPAM is a config error (code 7)", async () => {
    const { status, output } = await run(addEnv(), { cniVersion: "1.0.0", name: "mynet", type: "veth" });
    expect(status).toBe(1);
    expect(output).toMatchObject({ code: 7, msg: expect.stringContaining("ipam") });
  });

  it("ADD with a bad MTU is a config error naming the field", async () => {
    const { output } = await run(addEnv(), { ...ptpConfig, mtu: 12 });
    expect(output).toMatchObject({ code: 7, msg: expect.stringContaining("mtu") });
  });

  // The loader gets the skel's own decode, and the attachment lock comes after the loader, so
  // nothing parses stdin a second time (serializeAttachments did, for the network's name).
  it("ADD, DEL and CHECK parse stdin once, the skel's decode going to the loader", async () => {
    for (const command of ["ADD", "DEL", "CHECK"]) {
      const io = fakeIO(addEnv({ CNI_COMMAND: command }), { ...ptpConfig, mtu: 12 });
      const parse = vi.spyOn(JSON, "parse");
      let status: number;
      try {
        status = await runSkel(vethPlugin, { name: "veth" }, io);
        expect(parse, command).toHaveBeenCalledTimes(1);
      } finally {
        parse.mockRestore();
      }
      expect(status).toBe(1);
      expect(JSON.parse(io.stdout.join(""))).toMatchObject({ code: 7, msg: expect.stringContaining("mtu") });
    }
  });

  it("VERSION answers every version", async () => {
    const { status, output } = await run({ CNI_COMMAND: "VERSION" }, { cniVersion: "1.1.0" });
    expect(status).toBe(0);
    expect(output.supportedVersions).toEqual(expect.arrayContaining(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]));
  });
});
