import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { instancePathToField, parseNetConf } from "../../../src/cni/config";
import type { NetConf } from "../../../src/cni/types";
import type { ValidateFunction } from "../../../src/cni/validation-types";

// A small schema in the style of the plugins' schemas, compiled here (plugins get theirs compiled at build time).
const schema = {
  type: "object",
  required: ["cniVersion", "name", "type"],
  properties: {
    cniVersion: { type: "string" },
    name: { type: "string" },
    type: { type: "string" },
    mode: { enum: ["l2", "l3"] },
    mtu: { type: "integer", minimum: 68 },
    "odd-key": { type: "boolean" },
    ipam: {
      type: "object",
      properties: {
        type: { type: "string" },
        ranges: {
          type: "array",
          items: {
            type: "array",
            items: {
              type: "object",
              required: ["subnet"],
              properties: { subnet: { type: "string" } },
              additionalProperties: false,
            },
          },
        },
      },
    },
  },
};
const validate = new Ajv({ allErrors: false }).compile(schema) as unknown as ValidateFunction;
const good = { cniVersion: "1.0.0", name: "net", type: "bridge" };

function parse(config: unknown): NetConf {
  return parseNetConf(Buffer.from(typeof config === "string" ? config : JSON.stringify(config)), validate);
}

describe("parseNetConf", () => {
  it("returns the config", () => {
    expect(parse({ ...good, mtu: 1400 })).toEqual({ ...good, mtu: 1400 });
  });

  it.each(["", "{", "[1]", "null", "42"])("%j is code 6", (stdin) => {
    expect(() => parse(stdin)).toThrow(expect.objectContaining({ code: 6 }));
  });

  it("reads a missing cniVersion as 0.1.0 and resolves cniVersions", () => {
    expect(parse({ name: "net", type: "bridge" }).cniVersion).toBe("0.1.0");
    expect(parse({ ...good, cniVersions: ["0.4.0", "1.1.0"] }).cniVersion).toBe("1.1.0");
  });

  it.each([
    [{ ...good, mtu: "1400" }, "mtu", '"1400"'],
    [{ ...good, mtu: 10 }, "mtu", "10"],
    [{ ...good, mode: "l4" }, "mode", '"l4"'],
    [{ ...good, "odd-key": 1 }, '["odd-key"]', "1"],
    [{ ...good, ipam: { ranges: [[{ subnet: 10 }]] } }, "ipam.ranges[0][0].subnet", "10"],
    [{ ...good, ipam: { ranges: [[{ subnet: "10.0.0.0/8", gw: "10.0.0.1" }]] } }, "ipam.ranges[0][0].gw", '"10.0.0.1"'],
    [{ ...good, ipam: { ranges: [[{}]] } }, "ipam.ranges[0][0].subnet", "missing"],
    [{ cniVersion: "1.0.0", type: "bridge" }, "name", "missing"],
  ])("%j is code 7 naming %s and %s", (config, field, value) => {
    let caught: { code: number; message: string } | undefined;
    try {
      parse(config);
    } catch (err) {
      caught = err as { code: number; message: string };
    }
    expect(caught?.code).toBe(7);
    expect(caught?.message).toContain(`${field}:`);
    expect(caught?.message).toContain(value);
  });

  it("reads a prevResult of any version into the 1.1.0 shape", () => {
    const conf = parse({
      ...good,
      prevResult: { cniVersion: "0.2.0", ip4: { ip: "10.0.0.2/8", gateway: "10.0.0.1" } },
    });
    expect(conf.prevResult).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/8", gateway: "10.0.0.1" }] });
  });

  it("a broken prevResult says so", () => {
    expect(() => parse({ ...good, prevResult: { cniVersion: "1.0.0", ips: [{}] } })).toThrow(
      /^prevResult: invalid result: ips\[0\]\.address/,
    );
  });
});

it.each([
  ["", ""],
  ["/a/0/b", "a[0].b"],
  ["/a~1b/c~0d", '["a/b"]["c~d"]'],
])("instance path %j is field %j", (pointer, field) => {
  expect(instancePathToField(pointer)).toBe(field);
});
