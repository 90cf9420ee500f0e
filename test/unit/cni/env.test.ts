import { describe, expect, it } from "vitest";
import type { CniError } from "../../../src/cni/errors";
import { requireEnvFor, splitCniPath, validateContainerId, validateIfName } from "../../../src/cni/env";
import type { CniCommand } from "../../../src/cni/versions";

function codeOf(fn: () => void): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as CniError).code;
  }
}

describe("container ID", () => {
  it.each([
    ["abc", true],
    ["0a_b.c-d", true],
    ["A", true],
    ["", false],
    ["-abc", false],
    ["_abc", false],
    [".abc", false],
    ["a b", false],
    ["a/b", false],
    ["a:b", false],
    ["ä", false],
  ])("%j valid=%s", (id, valid) => {
    expect(codeOf(() => validateContainerId(id))).toBe(valid ? undefined : 4);
  });

  it("names the variable", () => {
    expect(() => validateContainerId("a b")).toThrow(/CNI_CONTAINERID/);
  });
});

describe("interface name", () => {
  it.each([
    ["eth0", true],
    ["a", true],
    ["x".repeat(15), true],
    ["x".repeat(16), false],
    ["ééééééééé", false], // 18 bytes in UTF-8
    ["", false],
    [".", false],
    ["..", false],
    ["...", true],
    ["eth/0", false],
    ["eth:0", false],
    ["eth 0", false],
    ["eth\t0", false],
    ["eth\n0", false],
  ])("%j valid=%s", (name, valid) => {
    expect(codeOf(() => validateIfName(name))).toBe(valid ? undefined : 4);
  });

  it("names the variable", () => {
    expect(() => validateIfName("eth:0")).toThrow(/CNI_IFNAME/);
  });
});

describe("required variables per verb", () => {
  const full = { CNI_CONTAINERID: "c", CNI_NETNS: "/n", CNI_IFNAME: "eth0", CNI_PATH: "/bin" };
  const cases: Array<[CniCommand, string, boolean]> = [
    ["ADD", "CNI_CONTAINERID", true],
    ["ADD", "CNI_NETNS", true],
    ["ADD", "CNI_IFNAME", true],
    ["ADD", "CNI_PATH", true],
    ["CHECK", "CNI_NETNS", true],
    ["DEL", "CNI_NETNS", false],
    ["DEL", "CNI_CONTAINERID", true],
    ["DEL", "CNI_IFNAME", true],
    ["GC", "CNI_CONTAINERID", false],
    ["GC", "CNI_PATH", true],
    ["STATUS", "CNI_PATH", false],
    ["VERSION", "CNI_PATH", false],
  ];
  it.each(cases)("%s without %s fails=%s", (command, name, fails) => {
    const env: Record<string, string | undefined> = { ...full, [name]: undefined };
    if (fails) expect(() => requireEnvFor(command, env)).toThrow(new RegExp(`\\[${name}\\] missing`));
    else expect(() => requireEnvFor(command, env)).not.toThrow();
  });

  it("lists every missing variable", () => {
    expect(() => requireEnvFor("ADD", {})).toThrow(
      "required env variables [CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_PATH] missing",
    );
  });
});

it("splits CNI_PATH like PATH", () => {
  expect(splitCniPath("/a::/b:")).toEqual(["/a", "/b"]);
  expect(splitCniPath(undefined)).toEqual([]);
});
