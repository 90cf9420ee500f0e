// The plugin's commands through the real skel, over the in-memory store.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSkel } from "../../../src/cni/skel";
import { MemoryStore } from "../../../ipam/host-local/memory-store";
import { makeHostLocal } from "../../../ipam/host-local/plugin";
import { addEnv, fakeIO } from "../cni/fake-io";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hlp-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function netConf(ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.1.0",
    name: "net1",
    type: "host-local",
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.1.0.0/29" }], [{ subnet: "fd00::/125" }]], ...ipam },
    ...extra,
  };
}

function plugin() {
  const store = new MemoryStore();
  const funcs = makeHostLocal(() => store);
  const run = async (command: string, conf: Record<string, unknown>, env: Record<string, string> = {}) => {
    const io = fakeIO(addEnv({ CNI_COMMAND: command, ...env }), conf);
    const status = await runSkel(funcs, { name: "host-local" }, io);
    const out = io.stdout.join("");
    return { status, json: out ? (JSON.parse(out) as Record<string, unknown>) : undefined };
  };
  return { store, run };
}

describe("host-local commands", () => {
  it("ADD answers ips, routes and dns from resolvConf", async () => {
    const resolvConf = path.join(dataDir, "resolv.conf");
    fs.writeFileSync(
      resolvConf,
      "# comment\nnameserver 10.0.0.53\nsearch a.example b.example\ndomain example\noptions ndots:2\n",
    );
    const { run } = plugin();
    const { status, json } = await run("ADD", netConf({ routes: [{ dst: "0.0.0.0/0" }], resolvConf }));
    expect(status).toBe(0);
    expect(json).toEqual({
      cniVersion: "1.1.0",
      ips: [
        { address: "10.1.0.2/29", gateway: "10.1.0.1" },
        { address: "fd00::2/125", gateway: "fd00::1" },
      ],
      routes: [{ dst: "0.0.0.0/0" }],
      dns: { nameservers: ["10.0.0.53"], search: ["a.example", "b.example"], domain: "example", options: ["ndots:2"] },
    });
  });

  it("ADD honours CNI_ARGS IP= and refuses unknown args unless IgnoreUnknown", async () => {
    const { run } = plugin();
    expect(
      (await run("ADD", netConf(), { CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.1.0.5,fd00::6" })).json,
    ).toMatchObject({
      ips: [{ address: "10.1.0.5/29" }, { address: "fd00::6/125" }],
    });
    expect((await run("ADD", netConf(), { CNI_CONTAINERID: "c2", CNI_ARGS: "FOO=1" })).json).toMatchObject({ code: 4 });
  });

  it("ADD with an unusable name or overlapping ranges: code 7", async () => {
    const { run } = plugin();
    expect((await run("ADD", netConf({}, { name: "../../etc" }))).json).toMatchObject({ code: 7 });
    expect(
      (await run("ADD", netConf({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.1.0.0/25" }]] }))).json,
    ).toMatchObject({
      code: 7,
      msg: expect.stringContaining("overlaps"),
    });
  });

  it("DEL releases and is idempotent; CHECK sees the lease or answers code 3", async () => {
    const { store, run } = plugin();
    await run("ADD", netConf());
    expect((await run("CHECK", netConf())).status).toBe(0);
    expect(await run("DEL", netConf())).toEqual({ status: 0, json: undefined });
    expect(store.leases()).toEqual([]);
    expect((await run("DEL", netConf())).status).toBe(0);
    expect((await run("CHECK", netConf())).json).toMatchObject({ code: 3 });
  });

  it("GC releases exactly the leases outside cni.dev/valid-attachments", async () => {
    const { store, run } = plugin();
    for (const id of ["a", "b", "c"]) await run("ADD", netConf(), { CNI_CONTAINERID: id });
    const gc = await run("GC", netConf({}, { "cni.dev/valid-attachments": [{ containerID: "b", ifname: "eth0" }] }));
    expect(gc.status).toBe(0);
    expect(store.leases().map((lease) => lease.attachment.containerId)).toEqual(["b", "b"]);
    // No list at all is refused rather than read as "nothing is valid".
    expect((await run("GC", netConf())).json).toMatchObject({
      code: 7,
      msg: expect.stringContaining("cni.dev/valid-attachments"),
    });
    expect(store.leases()).toHaveLength(2);
    expect((await run("GC", netConf({}, { "cni.dev/attachments": [] }))).status).toBe(0);
    expect(store.leases()).toEqual([]);
  });

  it("STATUS: ready, then code 50 naming the range set once one is full", async () => {
    const { run } = plugin();
    const small = netConf({ ranges: [[{ subnet: "10.1.0.0/30" }]] });
    expect((await run("STATUS", small)).status).toBe(0);
    await run("ADD", small);
    expect((await run("STATUS", small)).json).toMatchObject({
      code: 50,
      msg: expect.stringContaining("range set 0 (10.1.0.0/30"),
    });
    expect((await run("ADD", small, { CNI_CONTAINERID: "c2" })).json).toMatchObject({ code: 100 });
  });
});
