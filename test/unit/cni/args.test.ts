import { describe, expect, it } from "vitest";
import { loadCniArgs, parseCniArgs, readArgsCni, readRuntimeConfig } from "../../../src/cni/args";
import type { NetConf } from "../../../src/cni/types";

const base: NetConf = { cniVersion: "1.1.0", name: "n", type: "bridge" };

describe("CNI_ARGS", () => {
  it.each([
    ["", {}],
    ["A=1", { A: "1" }],
    ["A=1;B=2", { A: "1", B: "2" }],
    ["A=1;;B=", { A: "1", B: "" }],
    ["A=x=y", { A: "x=y" }],
    ["K8S_POD_NAME=web;A=2;A=3", { K8S_POD_NAME: "web", A: "3" }],
  ])("%j", (raw, expected) => {
    expect(Object.fromEntries(parseCniArgs(raw))).toEqual(expected);
  });

  it.each(["A", "A=1;B", "=1"])("%j is code 4 naming the pair", (raw) => {
    expect(() => parseCniArgs(raw)).toThrow(
      expect.objectContaining({ code: 4, message: expect.stringMatching(/CNI_ARGS: invalid pair/) }),
    );
  });

  it.each([
    ["IP=10.0.0.2", ["IP"], { IP: "10.0.0.2" }],
    ["IgnoreUnknown=1;IP=10.0.0.2;K8S_POD_NAME=web", ["IP"], { IP: "10.0.0.2" }],
    ["IgnoreUnknown=true;X=1", [], {}],
  ])("load %j knowing %j", (raw, known, expected) => {
    expect(Object.fromEntries(loadCniArgs(raw, known))).toEqual(expected);
  });

  it.each(["X=1", "IgnoreUnknown=0;X=1", "IgnoreUnknown=no;X=1"])(
    "%j: unknown keys are code 4 unless ignored",
    (raw) => {
      expect(() => loadCniArgs(raw, ["IP"])).toThrow(
        expect.objectContaining({ code: 4, message: "CNI_ARGS: unknown args [X=1]" }),
      );
    },
  );
});

describe("args.cni", () => {
  it("reads ips and mac", () => {
    expect(
      readArgsCni({ ...base, args: { cni: { ips: ["10.0.0.5", "fd00::5/64"], mac: "0a:00:00:00:00:01", other: 1 } } }),
    ).toEqual({
      ips: ["10.0.0.5", "fd00::5/64"],
      mac: "0a:00:00:00:00:01",
    });
    expect(readArgsCni(base)).toEqual({});
  });

  it.each([
    [{ ips: "10.0.0.5" }, "args.cni.ips"],
    [{ ips: ["10.0.0.5", "nope"] }, "args.cni.ips[1]"],
    [{ mac: "zz" }, "args.cni.mac"],
  ])("%j is code 7 naming %s", (cni, field) => {
    expect(() => readArgsCni({ ...base, args: { cni } })).toThrow(
      expect.objectContaining({ code: 7, message: expect.stringContaining(`${field}: must be`) }),
    );
  });
});

describe("runtimeConfig", () => {
  it("checks what we use and passes the rest through", () => {
    const runtimeConfig = {
      ips: ["10.0.0.5/24"],
      mac: "0a:00:00:00:00:01",
      ipRanges: [[{ subnet: "10.1.0.0/16", gateway: "10.1.0.1" }]],
      dns: { nameservers: ["10.0.0.1"], search: ["lab"] },
      portMappings: [{ hostPort: 8080, containerPort: 80 }],
    };
    expect(readRuntimeConfig({ ...base, runtimeConfig })).toEqual(runtimeConfig);
    expect(readRuntimeConfig(base)).toEqual({});
  });

  it.each([
    [{ ips: [1] }, "runtimeConfig.ips[0]"],
    [{ ipRanges: [[{ gateway: "10.0.0.1" }]] }, "runtimeConfig.ipRanges[0][0].subnet"],
    [{ ipRanges: [{}] }, "runtimeConfig.ipRanges[0]"],
    [{ dns: { nameservers: "10.0.0.1" } }, "runtimeConfig.dns.nameservers"],
    [{ mac: 5 }, "runtimeConfig.mac"],
  ])("%j is code 7 naming %s", (runtimeConfig, field) => {
    expect(() => readRuntimeConfig({ ...base, runtimeConfig: runtimeConfig as Record<string, unknown> })).toThrow(
      expect.objectContaining({ code: 7, message: expect.stringContaining(`${field}: must be`) }),
    );
  });
});
