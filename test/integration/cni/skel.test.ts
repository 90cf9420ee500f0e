// The CNI edge of the compiled executable, seen the way a runtime sees it: env and
// stdin in, one JSON document (or nothing) on stdout, exit status. These checks run
// before any plugin code, so every plugin name answers them identically.
import { describe, expect, it } from "vitest";
import { runPlugin, type PluginRun } from "../../helpers/exec";

const PLUGINS = ["bridge", "veth", "vxlan-overlay", "host-local"];
const SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
const attachment = { CNI_CONTAINERID: "ctr1", CNI_NETNS: "/run/netns/does-not-matter", CNI_IFNAME: "eth0" };
const config = (cniVersion: string, type: string) => ({ cniVersion, name: "net", type });

/** stdout must be exactly one JSON object: nothing before or after it. */
function singleDocument(run: PluginRun): Record<string, unknown> {
  const text = run.stdout.trim();
  expect(text.startsWith("{") && text.endsWith("}")).toBe(true);
  expect(run.json).toBeTypeOf("object");
  return run.json as Record<string, unknown>;
}

describe.each(PLUGINS)("%s", (plugin) => {
  it("started with no CNI_COMMAND prints one line about itself to stderr and exits 0", () => {
    const run = runPlugin({ plugin, command: "", stdin: "" });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      new RegExp(`^CNI ${plugin} plugin [^\\n]*CNI protocol versions supported: ${SUPPORTED.join(", ")}\\n$`),
    );
  });

  it("answers VERSION with every version we speak", () => {
    const run = runPlugin({ plugin, command: "VERSION", config: { cniVersion: "0.4.0" } });
    expect(run.status).toBe(0);
    expect(singleDocument(run)).toEqual({ cniVersion: "1.1.0", supportedVersions: SUPPORTED });
  });

  it.each([
    ["CNI_CONTAINERID missing", { CNI_CONTAINERID: "" }, /\[CNI_CONTAINERID\]/],
    ["CNI_CONTAINERID with a space", { CNI_CONTAINERID: "ctr 1" }, /CNI_CONTAINERID/],
    ["CNI_CONTAINERID starting with a dash", { CNI_CONTAINERID: "-ctr" }, /CNI_CONTAINERID/],
    ["CNI_NETNS missing", { CNI_NETNS: "" }, /\[CNI_NETNS\]/],
    ["CNI_IFNAME missing", { CNI_IFNAME: "" }, /\[CNI_IFNAME\]/],
    ["CNI_IFNAME too long", { CNI_IFNAME: "eth0123456789012" }, /CNI_IFNAME/],
    ["CNI_IFNAME with a colon", { CNI_IFNAME: "eth0:1" }, /CNI_IFNAME/],
    ["CNI_IFNAME '..'", { CNI_IFNAME: ".." }, /CNI_IFNAME/],
    ["CNI_PATH missing", { CNI_PATH: "" }, /\[CNI_PATH\]/],
  ])("ADD with %s: code 4 naming the variable", (_label, env, msg) => {
    const run = runPlugin({ plugin, command: "ADD", config: config("1.0.0", plugin), env: { ...attachment, ...env } });
    expect(run.status).toBe(1);
    expect(singleDocument(run)).toMatchObject({ cniVersion: "1.0.0", code: 4, msg: expect.stringMatching(msg) });
  });

  it.each([
    ["malformed JSON", "ADD", '{"cniVersion": "1.0.0",', 6, /^error decoding network config/],
    ["a config that is not an object", "DEL", "[]", 6, /expected a JSON object/],
    ["an unknown cniVersion", "ADD", JSON.stringify(config("0.5.0", plugin)), 1, /^incompatible CNI versions$/],
    ["CHECK at 0.3.1", "CHECK", JSON.stringify(config("0.3.1", plugin)), 1, /^config version does not allow CHECK$/],
    ["GC at 1.0.0", "GC", JSON.stringify(config("1.0.0", plugin)), 1, /^config version does not allow GC$/],
    ["an unknown verb", "FROB", JSON.stringify(config("1.0.0", plugin)), 4, /^unknown CNI_COMMAND: FROB$/],
  ])("%s: code %i, exit 1", (_label, command, stdin, code, msg) => {
    const run = runPlugin({ plugin, command, stdin, env: attachment });
    expect(run.status).toBe(1);
    expect(singleDocument(run)).toMatchObject({ code, msg: expect.stringMatching(msg) });
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace unless CNIKIT_DEBUG
  });

  it("answers CHECK at 0.3.1 in the config's version, with details", () => {
    const run = runPlugin({ plugin, command: "CHECK", config: config("0.3.1", plugin), env: attachment });
    expect(singleDocument(run)).toEqual({
      cniVersion: "0.3.1",
      code: 1,
      msg: "config version does not allow CHECK",
      details: "CHECK needs cniVersion 0.4.0 or later, config is 0.3.1",
    });
  });
});

it("vxlan-overlay refuses a config without its vni with code 7 naming the field, before any kernel work", () => {
  const run = runPlugin({
    plugin: "vxlan-overlay",
    command: "DEL",
    config: config("1.0.0", "vxlan-overlay"),
    env: attachment,
  });
  expect(singleDocument(run)).toMatchObject({ code: 7, msg: expect.stringContaining("vni") });
});
