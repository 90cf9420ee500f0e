// The skel's decode of stdin goes to the plugin's loader, once, and only for those bytes.
import { describe, expect, it, vi } from "vitest";
import { parseNetConf } from "../../../src/cni/config";
import { runSkel } from "../../../src/cni/skel";
import type { NetConf, PluginFuncs } from "../../../src/cni/types";
import { addEnv, fakeIO } from "./fake-io";

describe("one decode of stdin per call", () => {
  it("the skel and the plugin's loader parse stdin once between them", async () => {
    const plugin: PluginFuncs = {
      add: async (args) => ({ cniVersion: parseNetConf(args.stdinData).cniVersion }),
      del: async () => {},
      check: async () => {},
    };
    const io = fakeIO(addEnv(), { cniVersion: "1.0.0", name: "n", type: "t" });
    const parse = vi.spyOn(JSON, "parse");
    try {
      expect(await runSkel(plugin, { name: "t" }, io)).toBe(0);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
    expect(JSON.parse(io.stdout.join(""))).toMatchObject({ cniVersion: "1.0.0" });
  });

  it("the loader gets the skel's object the first time, a fresh parse after, and another Buffer never gets it", async () => {
    const seen: NetConf[] = [];
    let other: NetConf | undefined;
    const plugin: PluginFuncs = {
      add: async (args) => {
        seen.push(parseNetConf(args.stdinData), parseNetConf(args.stdinData));
        other = parseNetConf(Buffer.from(args.stdinData));
        return { cniVersion: "1.1.0" };
      },
      del: async () => {},
      check: async () => {},
    };
    const io = fakeIO(addEnv(), { cniVersion: "1.1.0", name: "n", type: "t" });
    expect(await runSkel(plugin, { name: "t" }, io)).toBe(0);
    const [first, second] = seen;
    expect(first).toEqual(second);
    expect(first).not.toBe(second);
    expect(other).toEqual(first);
    expect(other).not.toBe(first);
  });

  it("a config that is no JSON is still code 6, after the environment's errors", async () => {
    const plugin = { add: async () => ({ cniVersion: "1.1.0" }), del: async () => {}, check: async () => {} };
    const bad = fakeIO(addEnv(), "{");
    expect(await runSkel(plugin, { name: "t" }, bad)).toBe(1);
    expect(JSON.parse(bad.stdout.join(""))).toMatchObject({ code: 6 });
    const noEnv = fakeIO(addEnv({ CNI_CONTAINERID: undefined }), "{");
    expect(await runSkel(plugin, { name: "t" }, noEnv)).toBe(1);
    expect(JSON.parse(noEnv.stdout.join(""))).toMatchObject({ code: 4 });
  });
});
