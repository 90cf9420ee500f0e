import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delegateAdd, delegateCheck, delegateDel, type DelegateOptions } from "../../../src/cni/delegate";
import { CniError } from "../../../src/cni/errors";
import type { CmdArgs, PluginFuncs } from "../../../src/cni/types";

let dir: string;
const stdin = Buffer.from(JSON.stringify({ cniVersion: "0.3.1", name: "net", type: "fake" }));

function script(name: string, body: string): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-delegate-"));
  // Echoes what it was given: the command and ifname, and the stdin it read.
  script(
    "echo-ipam",
    `cat > "${dir}/stdin.seen"; printf '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.2/8"}],"dns":{"domain":"%s-%s"}}' "$CNI_COMMAND" "$CNI_IFNAME"`,
  );
  script(
    "failing-ipam",
    `cat >/dev/null; echo '{"cniVersion":"0.3.1","code":100,"msg":"no addresses left","details":"range 10.0.0.0/30"}'; exit 1`,
  );
  script("silent-crash", `echo "it broke" >&2; exit 3`);
  script("no-version-result", `cat >/dev/null; echo '{"ip4":{"ip":"10.0.0.3/8"}}'`);
  fs.writeFileSync(path.join(dir, "cnikit"), "not really an executable");
  fs.symlinkSync("cnikit", path.join(dir, "host-local"));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const options = (extra: Partial<DelegateOptions> = {}): DelegateOptions => ({
  path: ["/nonexistent", dir],
  env: { CNI_IFNAME: "eth7" },
  ...extra,
});

describe("delegation to an executable", () => {
  it("runs it with the verb, our environment and the same stdin; reads its result into 1.1.0", async () => {
    const result = await delegateAdd("echo-ipam", stdin, options());
    expect(result).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/8" }], dns: { domain: "ADD-eth7" } });
    expect(fs.readFileSync(path.join(dir, "stdin.seen"))).toEqual(stdin);
  });

  it("reads a result without cniVersion as the config's version", async () => {
    const legacy = Buffer.from(JSON.stringify({ cniVersion: "0.2.0", name: "net", type: "x" }));
    expect(await delegateAdd("no-version-result", legacy, options())).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.3/8" }],
    });
  });

  it("passes the delegate's error on unchanged", async () => {
    await expect(delegateAdd("failing-ipam", stdin, options())).rejects.toEqual(
      new CniError(100, "no addresses left", "range 10.0.0.0/30"),
    );
    await expect(delegateAdd("failing-ipam", stdin, options())).rejects.toMatchObject({
      code: 100,
      details: "range 10.0.0.0/30",
    });
  });

  it("says what a delegate that printed nothing wrote to stderr", async () => {
    await expect(delegateDel("silent-crash", stdin, options())).rejects.toMatchObject({
      code: 999,
      message: 'netplugin failed: "it broke"',
    });
  });

  it("names the plugin and the path when it is not there", async () => {
    await expect(delegateCheck("nope", stdin, options())).rejects.toMatchObject({
      code: 50,
      message: `failed to find plugin "nope" in path [/nonexistent ${dir}]`,
    });
  });
});

describe("delegation to this same executable", () => {
  it("runs the plugin in-process through the skel with the same environment semantics", async () => {
    const seen: CmdArgs[] = [];
    const hostLocal = (): PluginFuncs => ({
      add: async (args) => {
        seen.push(args);
        return { cniVersion: "1.1.0", ips: [{ address: "10.0.0.9/8" }] };
      },
      del: async () => undefined,
      check: async () => undefined,
    });
    const result = await delegateAdd(
      "host-local",
      stdin,
      options({
        selfExecutable: path.join(dir, "cnikit"),
        inProcess: { "host-local": hostLocal },
        env: { CNI_CONTAINERID: "c9", CNI_NETNS: "/run/netns/c9", CNI_IFNAME: "eth3", CNI_ARGS: "IgnoreUnknown=1" },
      }),
    );
    // The skel converted to 0.3.1 and the delegate side read it back.
    expect(result).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.0.0.9/8" }] });
    expect(seen).toEqual([
      {
        containerId: "c9",
        netns: "/run/netns/c9",
        ifName: "eth3",
        args: "IgnoreUnknown=1",
        path: ["/nonexistent", dir],
        stdinData: stdin,
      },
    ]);
  });

  it("knows the resident-mode front end beside the executable as us too", async () => {
    // /opt/cni/bin/host-local -> cnikit-front, installed beside cnikit: still in-process.
    const frontDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-delegate-front-"));
    try {
      fs.writeFileSync(path.join(frontDir, "cnikit"), "the executable");
      fs.writeFileSync(path.join(frontDir, "cnikit-front"), "the front end", { mode: 0o755 });
      fs.symlinkSync("cnikit-front", path.join(frontDir, "host-local"));
      let ranInProcess = false;
      const hostLocal = (): PluginFuncs => ({
        add: async () => {
          ranInProcess = true;
          return { cniVersion: "1.1.0", ips: [{ address: "10.0.0.8/8" }] };
        },
        del: async () => undefined,
        check: async () => undefined,
      });
      const result = await delegateAdd("host-local", stdin, {
        path: [frontDir],
        selfExecutable: path.join(frontDir, "cnikit"),
        inProcess: { "host-local": hostLocal },
        env: { CNI_CONTAINERID: "c8", CNI_NETNS: "/run/netns/c8", CNI_IFNAME: "eth0" },
      });
      expect(ranInProcess).toBe(true);
      expect(result.ips).toEqual([{ address: "10.0.0.8/8" }]);
    } finally {
      fs.rmSync(frontDir, { recursive: true, force: true });
    }
  });

  it("validates the environment as a separate process would", async () => {
    const mustNotRun = async (): Promise<never> => {
      throw new Error("must not run");
    };
    const hostLocal = (): PluginFuncs => ({ add: mustNotRun, del: mustNotRun, check: mustNotRun });
    const run = delegateDel(
      "host-local",
      stdin,
      options({
        selfExecutable: path.join(dir, "cnikit"),
        inProcess: { "host-local": hostLocal },
        env: { CNI_CONTAINERID: "c9", CNI_IFNAME: "bad:name" },
      }),
    );
    await expect(run).rejects.toMatchObject({ code: 4, message: expect.stringContaining("CNI_IFNAME") });
  });

  it("executes the file when it is not us", async () => {
    const spy = (): PluginFuncs => {
      throw new Error("must not run in-process");
    };
    await expect(delegateAdd("echo-ipam", stdin, options({ inProcess: { "echo-ipam": spy } }))).resolves.toMatchObject({
      dns: { domain: "ADD-eth7" },
    });
  });
});
