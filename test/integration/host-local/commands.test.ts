// host-local through the built executable: files only, so no namespace is needed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callPlugin, firstAddress, leaseFiles, ours } from "./harness";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hl-int-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let dataDir: string;
let caseNumber = 0;
beforeEach(() => {
  dataDir = path.join(root, `case${caseNumber++}`);
});

function config(extra: Record<string, unknown> = {}, cniVersion = "1.1.0"): Record<string, unknown> {
  return {
    cniVersion,
    name: "hlnet",
    type: "bridge",
    ipam: {
      type: "host-local",
      dataDir,
      ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "fd00:1::/64" }]],
      routes: [{ dst: "0.0.0.0/0" }],
    },
    ...extra,
  };
}

const run = (command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC", conf: unknown, containerId = "c1", cniArgs = "") =>
  callPlugin({ executable: ours, command, config: conf, containerId, cniArgs });

describe("host-local executable", () => {
  it("ADD, CHECK, DEL (twice), CHECK again", async () => {
    const add = await run("ADD", config());
    expect(add.status).toBe(0);
    expect(add.json).toEqual({
      cniVersion: "1.1.0",
      ips: [
        { address: "10.1.0.2/24", gateway: "10.1.0.1" },
        { address: "fd00:1::2/64", gateway: "fd00:1::1" },
      ],
      routes: [{ dst: "0.0.0.0/0" }],
    });
    expect(fs.readFileSync(path.join(dataDir, "hlnet", "10.1.0.2"), "utf8")).toBe("c1\r\neth0");
    expect((await run("CHECK", config())).status).toBe(0);
    expect((await run("DEL", config())).status).toBe(0);
    expect((await run("DEL", config())).status).toBe(0);
    expect(leaseFiles(path.join(dataDir, "hlnet"))).toEqual([]);
    expect((await run("CHECK", config())).json).toMatchObject({ code: 3 });
  });

  for (const version of ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
    it(`answers in the config's version ${version}`, async () => {
      const add = await run("ADD", config({}, version));
      expect(add.json).toMatchObject({
        cniVersion: version,
        ips: [{ address: "10.1.0.2/24" }, { address: "fd00:1::2/64" }],
      });
    });
  }

  it("a second ADD for the same attachment fails; a requested address is honoured or refused with 101", async () => {
    await run("ADD", config());
    expect((await run("ADD", config())).json).toMatchObject({
      code: 4,
      msg: expect.stringContaining("duplicate allocation"),
    });
    expect(firstAddress(await run("ADD", config(), "c2", "IP=10.1.0.50"))).toBe("10.1.0.50");
    expect((await run("ADD", config(), "c3", "IP=10.1.0.50")).json).toMatchObject({
      code: 101,
      msg: expect.stringContaining("10.1.0.50"),
    });
  });

  it("GC keeps exactly the valid attachments", async () => {
    for (const id of ["a", "b", "c", "d"]) expect((await run("ADD", config(), id)).status).toBe(0);
    const valid = [
      { containerID: "b", ifname: "eth0" },
      { containerID: "d", ifname: "eth0" },
      { containerID: "a", ifname: "eth9" },
    ];
    expect((await run("GC", config({ "cni.dev/valid-attachments": valid }))).status).toBe(0);
    const owners = leaseFiles(path.join(dataDir, "hlnet")).map((file) =>
      fs.readFileSync(path.join(dataDir, "hlnet", file), "utf8"),
    );
    expect(owners.sort()).toEqual(["b\r\neth0", "b\r\neth0", "d\r\neth0", "d\r\neth0"]);
    expect((await run("CHECK", config(), "b")).status).toBe(0);
  });

  it("STATUS: ready; code 50 when a range set is full or the data directory is read-only", async () => {
    const tiny = config({ ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.1.0.0/30" }]] } });
    expect((await run("STATUS", tiny)).status).toBe(0);
    expect((await run("ADD", tiny)).status).toBe(0);
    expect((await run("STATUS", tiny)).json).toMatchObject({ code: 50, msg: expect.stringContaining("is full") });
    expect((await run("ADD", tiny, "c2")).json).toMatchObject({
      code: 100,
      msg: expect.stringContaining("10.1.0.0/30"),
    });
    const readOnly = config({
      ipam: { type: "host-local", dataDir: "/proc/cnikit-no-such-dir", ranges: [[{ subnet: "10.1.0.0/30" }]] },
    });
    expect((await run("STATUS", readOnly)).json).toMatchObject({
      code: 50,
      msg: expect.stringContaining("not writable"),
    });
  });

  it("a foreign lease file is never handed out again; an empty one (its writer killed mid-lease) is reclaimed", async () => {
    const networkDir = path.join(dataDir, "hlnet");
    fs.mkdirSync(networkDir, { recursive: true });
    fs.writeFileSync(path.join(networkDir, "10.1.0.2"), "");
    fs.writeFileSync(path.join(networkDir, "10.1.0.3"), "someone-else\r\neth0");
    fs.writeFileSync(path.join(networkDir, "not-an-address"), "c1\r\neth0");
    expect(firstAddress(await run("ADD", config()))).toBe("10.1.0.2");
    expect((await run("DEL", config())).status).toBe(0);
    expect(leaseFiles(networkDir)).toEqual(["10.1.0.3"]);
    expect(fs.existsSync(path.join(networkDir, "not-an-address"))).toBe(true);
  });

  it("refuses a network name that would leave the data directory (code 7)", async () => {
    expect((await run("ADD", config({ name: "../../etc" }))).json).toMatchObject({
      code: 7,
      msg: expect.stringContaining("name"),
    });
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
