import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors";
import {
  containerIdFor,
  netnsPathArg,
  parseArgsOption,
  parseCapabilityArgs,
  parseValidAttachments,
} from "../../../src/cli/cni-options";
import { CliError, describeFailure } from "../../../src/cli/errors";
import { formatTable } from "../../../src/cli/output";

describe("plugin-by-hand options", () => {
  it("maps a bare namespace name to /run/netns and keeps paths", () => {
    expect(netnsPathArg("ctr1")).toBe("/run/netns/ctr1");
    expect(netnsPathArg("/proc/1/ns/net")).toBe("/proc/1/ns/net");
    // Relative paths are paths, from our working directory, never names in /run/netns.
    expect(netnsPathArg("./ctr1")).toBe(path.join(process.cwd(), "ctr1"));
    expect(netnsPathArg("../x/ctr1")).toBe(path.resolve(process.cwd(), "../x/ctr1"));
  });

  it("derives a stable, valid container id from the namespace path", () => {
    const id = containerIdFor("/run/netns/ctr1");
    expect(id).toMatch(/^cnikit-[0-9a-f]{20}$/);
    expect(containerIdFor("/run/netns/ctr1")).toBe(id);
    expect(containerIdFor("/run/netns/ctr2")).not.toBe(id);
  });

  it("reads CNI_ARGS pairs and refuses a pair without '='", () => {
    expect(parseArgsOption("IP=10.1.0.5;IgnoreUnknown=1")).toEqual([
      ["IP", "10.1.0.5"],
      ["IgnoreUnknown", "1"],
    ]);
    expect(parseArgsOption(undefined)).toEqual([]);
    expect(() => parseArgsOption("novalue")).toThrow(CniError);
  });

  it("reads capability args as a JSON object only", () => {
    expect(parseCapabilityArgs('{"mac":"02:00:00:00:00:01"}')).toEqual({ mac: "02:00:00:00:00:01" });
    expect(() => parseCapabilityArgs("[1]")).toThrow(/JSON object/);
    expect(() => parseCapabilityArgs("{")).toThrow(/not JSON/);
  });

  it("reads valid attachments as ID[/IFNAME] lists or JSON", () => {
    expect(parseValidAttachments("a/net1, b")).toEqual([
      { containerID: "a", ifname: "net1" },
      { containerID: "b", ifname: "eth0" },
    ]);
    expect(parseValidAttachments('[{"containerID":"c","ifname":"eth1"}]')).toEqual([
      { containerID: "c", ifname: "eth1" },
    ]);
    expect(() => parseValidAttachments("a/b/c")).toThrow(CliError);
    expect(() => parseValidAttachments('[{"containerID":1}]')).toThrow(/containerID and ifname/);
  });
});

describe("output", () => {
  it("describes a CNI error with its code, msg and details on one line", () => {
    expect(describeFailure(new CniError(7, "bad config", "field x"))).toBe("CNI error 7: bad config (field x)");
    expect(describeFailure(new Error("plain"))).toBe("plain");
  });

  it("aligns table columns without trailing spaces", () => {
    expect(
      formatTable(
        ["A", "LONGER"],
        [
          ["xyz", "1"],
          ["q", ""],
        ],
      ),
    ).toBe("A    LONGER\nxyz  1\nq");
  });
});
