// Every spec version from 0.3.0 to 1.1.0: the ADD result in that version's shape (the
// same shape the reference ptp prints, where it speaks the version), CHECK where the
// version has it, DEL leaving nothing, STATUS and GC passed to host-local.
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, links } from "../../../netns-fixtures";
import { callVeth, hasReference, leases, maskedResult, network, reference, succeed, testBed } from "./harness";

const { fixture, workDir } = testBed("versions");
let host: Netns;
beforeAll(() => {
  host = fixture.hostNetns();
});

/** Versions the installed reference ptp (1.1.1) also speaks. */
const REFERENCE_VERSIONS = new Set(["0.3.0", "0.3.1", "0.4.0", "1.0.0"]);

describe.each([
  ["0.3.0", 10],
  ["0.3.1", 11],
  ["0.4.0", 12],
  ["1.0.0", 13],
  ["1.1.0", 14],
])("veth at cniVersion %s", (cniVersion, subnet) => {
  const dataDir = path.join(workDir, cniVersion);
  const config = network({ cniVersion, dataDir, subnet, ipv6: true });
  let ctr: Netns;
  let result: Record<string, unknown>;

  beforeAll(async () => {
    ctr = fixture.containerNetns();
    result = await succeed({ command: "ADD", host, netns: ctr.path, containerId: `v${subnet}`, config });
  });

  it("ADD answers in that version's result shape", () => {
    const legacy = cniVersion.startsWith("0.");
    const v4 = {
      address: `10.66.${subnet}.2/24`,
      gateway: `10.66.${subnet}.1`,
      interface: 1,
      ...(legacy && { version: "4" }),
    };
    const v6 = {
      address: `fd66:${subnet}::2/64`,
      gateway: `fd66:${subnet}::1`,
      interface: 1,
      ...(legacy && { version: "6" }),
    };
    expect(result).toEqual({
      cniVersion,
      interfaces: [
        { name: expect.stringMatching(/^veth[0-9a-f]{11}$/), mac: expect.stringMatching(/^[0-9a-f:]{17}$/) },
        { name: "eth0", mac: expect.stringMatching(/^[0-9a-f:]{17}$/), sandbox: ctr.path },
      ],
      ips: [v4, v6],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
    });
  });

  it.skipIf(!hasReference || !REFERENCE_VERSIONS.has(cniVersion))(
    "ADD's result has the shape the reference ptp prints",
    async () => {
      const refHost = fixture.hostNetns();
      const refCtr = fixture.containerNetns();
      const refResult = await succeed({
        impl: reference,
        command: "ADD",
        host: refHost,
        netns: refCtr.path,
        containerId: `v${subnet}`,
        config: { ...config, ipam: { ...(config.ipam as object), dataDir: path.join(dataDir, "ref") } },
      });
      expect(maskedResult(result)).toEqual(maskedResult(refResult));
    },
  );

  it("CHECK passes with the result as prevResult where the version has CHECK", async () => {
    const exit = await callVeth({
      command: "CHECK",
      host,
      netns: ctr.path,
      containerId: `v${subnet}`,
      config: { ...config, prevResult: result },
    });
    if (cniVersion === "0.3.0" || cniVersion === "0.3.1") {
      expect(exit.json).toMatchObject({ code: 1 });
    } else {
      expect(exit.stdout).toBe("");
      expect(exit.status).toBe(0);
    }
  });

  it("DEL removes both ends and releases the addresses", async () => {
    expect(leases(dataDir, config.name as string)).toHaveLength(2);
    await succeed({ command: "DEL", host, netns: ctr.path, containerId: `v${subnet}`, config });
    expect(links(ctr).map((link) => link.ifname)).toEqual(["lo"]);
    const hostEnd = (result.interfaces as Array<{ name: string }>)[0]?.name;
    expect(links(host).map((link) => link.ifname)).not.toContain(hostEnd);
    expect(leases(dataDir, config.name as string)).toEqual([]);
  });
});

describe("STATUS and GC (1.1.0) are host-local's", () => {
  const dataDir = path.join(workDir, "gc");
  const config = network({ cniVersion: "1.1.0", dataDir, subnet: 15 });

  it("STATUS succeeds, and is refused below 1.1.0", async () => {
    expect(await callVeth({ command: "STATUS", host, config })).toMatchObject({ status: 0, stdout: "" });
    expect(
      (await callVeth({ command: "STATUS", host, config: { ...config, cniVersion: "1.0.0" } })).json,
    ).toMatchObject({ code: 1 });
  });

  it("GC releases the leases of attachments the runtime no longer knows", async () => {
    const keep = fixture.containerNetns();
    const drop = fixture.containerNetns();
    await succeed({ command: "ADD", host, netns: keep.path, containerId: "gc-keep", config });
    await succeed({ command: "ADD", host, netns: drop.path, containerId: "gc-drop", config });
    expect(leases(dataDir, "vnet15")).toHaveLength(2);
    await succeed({
      command: "GC",
      host,
      config: { ...config, "cni.dev/valid-attachments": [{ containerID: "gc-keep", ifname: "eth0" }] },
    });
    expect(leases(dataDir, "vnet15")).toEqual(["10.66.15.2"]);
    await succeed({ command: "DEL", host, netns: keep.path, containerId: "gc-keep", config });
    await succeed({ command: "DEL", host, netns: drop.path, containerId: "gc-drop", config });
    expect(leases(dataDir, "vnet15")).toEqual([]);
  });
});
