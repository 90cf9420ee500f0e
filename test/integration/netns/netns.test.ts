// Namespace helpers against real namespaces: create/delete, identity, checks.
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { runPrefix } from "../../../netns-fixtures";
import { NetnsError, isNetnsMissing } from "../../../src/netns/errors";
import {
  checkNetnsPath,
  closeNetns,
  createNamedNetns,
  currentNetnsPath,
  deleteNamedNetns,
  openNetns,
  sameNetns,
} from "../../../src/netns/netns";

const name = `${runPrefix()}${randomBytes(2).toString("hex")}-nsapi`;
afterAll(() => deleteNamedNetns(name));

describe("named namespaces", () => {
  it("create shows up in ip netns, is a distinct namespace, delete removes it", () => {
    const nsPath = createNamedNetns(name);
    expect(nsPath).toBe(`/run/netns/${name}`);
    expect(spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout).toContain(name);
    expect(() => checkNetnsPath(nsPath)).not.toThrow();
    expect(sameNetns(nsPath, nsPath)).toBe(true);
    expect(sameNetns(nsPath, currentNetnsPath())).toBe(false);
    expect(sameNetns("/proc/self/ns/net", currentNetnsPath())).toBe(true);
    const fd = openNetns(nsPath);
    try {
      expect(sameNetns(fd, nsPath)).toBe(true);
    } finally {
      closeNetns(fd);
    }
    expect(() => createNamedNetns(name)).toThrow(expect.objectContaining({ code: "EEXIST" }));
    deleteNamedNetns(name);
    expect(fs.existsSync(nsPath)).toBe(false);
    deleteNamedNetns(name);
    let caught: unknown;
    try {
      checkNetnsPath(nsPath);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetnsError);
    expect(isNetnsMissing(caught)).toBe(true);
  });
});
