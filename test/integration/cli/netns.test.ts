// `cnikit netns`: namespaces made and removed through the native layer, checked with ip.
import * as fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsFixture, links } from "../../../netns-fixtures";
import { listNetnsNames } from "../../../netns-fixtures/ip";
import { cnikit, cnikitOk, expectOneLineFailure } from "./run-cli";

const fixture = new NetnsFixture();
afterAll(() => fixture.cleanup());

describe("cnikit netns", () => {
  it("adds a namespace with lo up, lists it, and deletes it twice", () => {
    const name = `${fixture.prefix}cli`;
    cnikitOk(["netns", "add", name]);
    expect(listNetnsNames()).toContain(name);
    expect(links(name).find((link) => link.ifname === "lo")?.flags).toContain("UP");
    expect(cnikitOk(["netns", "list"])).toContain(`/run/netns/${name}`);
    const listed = JSON.parse(cnikitOk(["netns", "list", "--json"])) as { name: string }[];
    expect(listed.map((entry) => entry.name)).toContain(name);

    expect(expectOneLineFailure(cnikit(["netns", "add", name]))).toMatch(/already exists/);

    cnikitOk(["netns", "del", name]);
    expect(listNetnsNames()).not.toContain(name);
    expect(fs.existsSync(`/run/netns/${name}`)).toBe(false);
    cnikitOk(["netns", "del", name]);
  });

  it("exec runs inside the namespace and exits with the command's status", () => {
    const ns = fixture.containerNetns();
    cnikitOk(["netns", "exec", ns.name, "--", "ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"]);
    expect(links(ns).map((link) => link.ifname)).toContain("probe0");
    expect(cnikit(["netns", "exec", ns.name, "--", "sh", "-c", "exit 7"]).status).toBe(7);
    expect(cnikit(["netns", "exec", ns.path, "--", "sh", "-c", "exit 3"]).status).toBe(3);
    const output = cnikitOk(["netns", "exec", ns.name, "--", "cat", "/proc/net/dev"]);
    expect(output).toContain("probe0");
    expect(cnikit(["netns", "exec", ns.name, "--", "/nonexistent/program"]).status).toBe(127);
  });

  it("refuses bad arguments with one line", () => {
    expect(expectOneLineFailure(cnikit(["netns", "add"]))).toMatch(/missing required argument/);
    expect(expectOneLineFailure(cnikit(["netns", "add", "a/b"]))).toMatch(/invalid namespace name/);
    expect(expectOneLineFailure(cnikit(["netns", "exec", `${fixture.prefix}absent`, "--", "true"]))).toMatch(
      /does not exist/,
    );
    expect(expectOneLineFailure(cnikit(["netns", "exec", `${fixture.prefix}absent`]))).toMatch(
      /missing required argument/,
    );
    expect(expectOneLineFailure(cnikit(["netns", "frobnicate"]))).toMatch(/unknown command/);
    expect(expectOneLineFailure(cnikit(["--no-such-flag"]))).toMatch(/unknown option/);
  });
});
