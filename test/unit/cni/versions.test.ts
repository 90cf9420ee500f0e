import { describe, expect, it } from "vitest";
import type { Result } from "../../../src/cni/types";
import {
  SUPPORTED_VERSIONS,
  configVersion,
  convertResult,
  parseGcAttachments,
  parseResult,
  requireSupportedVersion,
  requireVerbInVersion,
  type CniCommand,
} from "../../../src/cni/versions";

/** A 1.1.0 result that uses every field, with a second address per family. */
const full: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "cni0", mac: "0a:58:0a:01:00:01", mtu: 1400 },
    {
      name: "eth0",
      mac: "0a:58:0a:01:00:05",
      mtu: 1400,
      sandbox: "/run/netns/c1",
      socketPath: "/run/vhost.sock",
      pciID: "0000:00:1f.6",
    },
  ],
  ips: [
    { interface: 1, address: "10.1.0.5/24", gateway: "10.1.0.1" },
    { interface: 1, address: "fd00::5/64", gateway: "fd00::1" },
    { interface: 1, address: "10.2.0.5/24" },
  ],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.1.0.1", mtu: 1300, advmss: 1260, priority: 10, table: 100, scope: 0 },
    { dst: "::/0", gw: "fd00::1" },
    { dst: "10.9.0.0/16" },
  ],
  dns: { nameservers: ["10.1.0.1"], domain: "lab", search: ["lab"], options: ["ndots:2"] },
};

/** The same result with the 1.1.0-only fields removed: what survives 0.3.0..1.0.0. */
const without11: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "cni0", mac: "0a:58:0a:01:00:01" },
    { name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/c1" },
  ],
  ips: full.ips,
  routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }, { dst: "::/0", gw: "fd00::1" }, { dst: "10.9.0.0/16" }],
  dns: full.dns,
};

describe("converting a 1.1.0 result down and reading it back", () => {
  it("1.1.0 is lossless", () => {
    expect(parseResult(convertResult(full, "1.1.0"))).toEqual(full);
  });

  it.each(["1.0.0", "0.4.0", "0.3.1", "0.3.0"])("%s drops only the 1.1.0 fields", (version) => {
    const written = convertResult(full, version);
    expect(written.cniVersion).toBe(version);
    expect(parseResult(written)).toEqual(without11);
  });

  it.each(["0.4.0", "0.3.1", "0.3.0"])("%s ips carry version, 1.0.0 ips do not", (version) => {
    const ips = convertResult(full, version).ips as Array<Record<string, unknown>>;
    expect(ips.map((ip) => ip.version)).toEqual(["4", "6", "4"]);
    const ips100 = convertResult(full, "1.0.0").ips as Array<Record<string, unknown>>;
    expect(ips100.every((ip) => !("version" in ip))).toBe(true);
  });

  it.each(["0.2.0", "0.1.0"])("%s keeps the first address per family, routes under their family", (version) => {
    expect(convertResult(full, version)).toEqual({
      cniVersion: version,
      ip4: {
        ip: "10.1.0.5/24",
        gateway: "10.1.0.1",
        routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }, { dst: "10.9.0.0/16" }],
      },
      ip6: { ip: "fd00::5/64", gateway: "fd00::1", routes: [{ dst: "::/0", gw: "fd00::1" }] },
      dns: full.dns,
    });
  });

  it("0.2.0 reads back into ips and routes", () => {
    expect(parseResult(convertResult(full, "0.2.0"))).toEqual({
      cniVersion: "1.1.0",
      ips: [
        { address: "10.1.0.5/24", gateway: "10.1.0.1" },
        { address: "fd00::5/64", gateway: "fd00::1" },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }, { dst: "10.9.0.0/16" }, { dst: "::/0", gw: "fd00::1" }],
      dns: full.dns,
    });
  });

  it("a single-family result survives 0.2.0 and back", () => {
    const v4only: Result = {
      cniVersion: "1.1.0",
      ips: [{ address: "10.3.0.2/16", gateway: "10.3.0.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    };
    expect(parseResult(convertResult(v4only, "0.2.0"))).toEqual(v4only);
  });
});

describe("0.1.0/0.2.0 cannot express a result without an address", () => {
  const noAddress: Result[] = [
    { cniVersion: "1.1.0" },
    { cniVersion: "1.1.0", interfaces: [{ name: "eth0" }] },
    { cniVersion: "1.1.0", ips: [], routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }] },
  ];
  for (const version of ["0.2.0", "0.1.0"]) {
    it.each(noAddress)(`${version}: %j fails with code 1`, (result) => {
      expect(() => convertResult(result, version)).toThrow(expect.objectContaining({ code: 1 }));
    });
  }

  it("an empty result is fine from 0.3.0 up", () => {
    expect(convertResult({ cniVersion: "1.1.0" }, "0.3.0")).toEqual({ cniVersion: "0.3.0" });
  });
});

describe("reading results of every version", () => {
  it("reads a 0.3.1 result, ignoring version", () => {
    expect(
      parseResult({
        cniVersion: "0.3.1",
        ips: [{ version: "4", interface: 0, address: "10.0.0.2/8" }],
        interfaces: [{ name: "eth0" }],
      }),
    ).toEqual({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0" }],
      ips: [{ interface: 0, address: "10.0.0.2/8" }],
    });
  });

  it("reads a result without cniVersion as 0.1.0", () => {
    expect(parseResult({ ip4: { ip: "10.0.0.2/8" } })).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/8" }],
    });
  });

  it.each([
    [{ cniVersion: "9.9.9" }, 1, /unsupported CNI result version/],
    [{ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2" }] }, 6, /ips\[0\]\.address/],
    [{ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/8", gateway: "nope" }] }, 6, /ips\[0\]\.gateway/],
    [{ cniVersion: "1.0.0", interfaces: [{ mac: "x" }] }, 6, /interfaces\[0\]\.name/],
    [{ cniVersion: "1.0.0", routes: {} }, 6, /routes must be an array/],
    [{ cniVersion: "1.1.0", routes: [{ dst: "10.0.0.0/8", mtu: -1 }] }, 6, /routes\[0\]\.mtu/],
    ["nope", 6, /result must be an object/],
  ])("%j -> code %i", (json, code, message) => {
    expect(() => parseResult(json)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  it("converting to a version we do not speak is code 1", () => {
    expect(() => convertResult(full, "2.0.0")).toThrow(expect.objectContaining({ code: 1 }));
  });
});

describe("the config's version", () => {
  it.each([
    [{ cniVersion: "0.4.0" }, "0.4.0"],
    [{}, "0.1.0"],
    [{ cniVersion: "" }, "0.1.0"],
    [{ cniVersion: "0.4.0", cniVersions: ["0.3.1", "1.1.0", "1.0.0"] }, "1.1.0"],
    [{ cniVersions: ["0.3.1", "9.0.0"] }, "0.3.1"],
    [{ cniVersions: ["9.0.0"] }, "9.0.0"],
    [{ cniVersion: "1.0.0", cniVersions: ["9.0.0"] }, "1.0.0"],
  ])("%j speaks %s", (config, version) => {
    expect(configVersion(config)).toBe(version);
  });

  it("every supported version passes, others are code 1 listing ours", () => {
    for (const version of SUPPORTED_VERSIONS) expect(requireSupportedVersion(version)).toBe(version);
    expect(() => requireSupportedVersion("0.5.0")).toThrow(
      expect.objectContaining({ code: 1, details: expect.stringContaining('"1.1.0"') }),
    );
  });
});

describe("verbs allowed by version", () => {
  // From the spec's change log, not from the plugin's table: CHECK came with 0.4.0, STATUS and
  // GC with 1.1.0, the others were there from the first version.
  const introduced: Partial<Record<CniCommand, string>> = { CHECK: "0.4.0", STATUS: "1.1.0", GC: "1.1.0" };
  const verbs: CniCommand[] = ["ADD", "DEL", "VERSION", "CHECK", "STATUS", "GC"];
  for (const verb of verbs) {
    const first = introduced[verb] ?? "0.1.0";
    it.each(SUPPORTED_VERSIONS.map((v) => [v]))(`${verb} at %s`, (version) => {
      const allowed =
        SUPPORTED_VERSIONS.indexOf(version) >= SUPPORTED_VERSIONS.indexOf(first as (typeof SUPPORTED_VERSIONS)[number]);
      if (allowed) expect(() => requireVerbInVersion(verb, version)).not.toThrow();
      else
        expect(() => requireVerbInVersion(verb, version)).toThrow(
          expect.objectContaining({ code: 1, message: `config version does not allow ${verb}` }),
        );
    });
  }
});

describe("GC attachments", () => {
  const attachments = [{ containerID: "c1", ifname: "eth0" }];
  it.each(["cni.dev/valid-attachments", "cni.dev/attachments"])("reads %s", (key) => {
    expect(parseGcAttachments({ [key]: attachments })).toEqual(attachments);
  });
  it("prefers valid-attachments, defaults to none", () => {
    expect(parseGcAttachments({ "cni.dev/valid-attachments": attachments, "cni.dev/attachments": [] })).toEqual(
      attachments,
    );
    expect(parseGcAttachments({})).toEqual([]);
  });
  it("names a malformed entry with code 7", () => {
    expect(() => parseGcAttachments({ "cni.dev/attachments": [{ containerID: "c1" }] })).toThrow(
      expect.objectContaining({ code: 7, message: expect.stringContaining('["cni.dev/attachments"][0]') }),
    );
  });
});

it.each(["1.1.0", "1.0.0", "0.4.0"])("%s leaves empty lists out, as libcni does", (version) => {
  expect(
    convertResult({ cniVersion: "1.1.0", interfaces: [], ips: [{ address: "10.0.0.2/8" }], routes: [] }, version),
  ).not.toHaveProperty("routes");
});
