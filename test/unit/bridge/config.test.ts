// The bridge plugin's configuration: the reference's defaults, derived values, and
// errors that name the field.
import { describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors";
import { loadBridgeConfig } from "../../../plugins/bridge/config";

const base = { cniVersion: "1.0.0", name: "net", type: "bridge" };

function load(extra: Record<string, unknown>) {
  return loadBridgeConfig(Buffer.from(JSON.stringify({ ...base, ...extra })));
}

function loadError(extra: Record<string, unknown>): CniError {
  try {
    load(extra);
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error(`config ${JSON.stringify(extra)} was accepted`);
}

describe("loadBridgeConfig", () => {
  it("defaults: bridge cni0, no gateway", () => {
    expect(load({})).toMatchObject({ bridgeName: "cni0", isGateway: false, isDefaultGateway: false, trunkVlans: [] });
  });

  it("isDefaultGateway implies isGateway", () => {
    expect(load({ isDefaultGateway: true })).toMatchObject({ isGateway: true, isDefaultGateway: true });
  });

  it("expands vlanTrunk ids and ranges, sorted and without duplicates", () => {
    expect(load({ vlanTrunk: [{ minID: 10, maxID: 12 }, { id: 5 }, { id: 11 }] }).trunkVlans).toEqual([5, 10, 11, 12]);
  });

  it.each([
    [{ vlanTrunk: [{ id: 5, minID: 1, maxID: 2 }] }, "vlanTrunk[0]"],
    [{ vlanTrunk: [{ minID: 7 }] }, "vlanTrunk[0]"],
    [{ vlanTrunk: [{ id: 1 }, { minID: 9, maxID: 3 }] }, "vlanTrunk[1]"],
    [{ vlan: 10, vlanTrunk: [{ id: 10 }] }, "vlan 10"],
    [{ mtu: "1500" }, "mtu"],
    [{ vlan: 5000 }, "vlan"],
    [{ bridge: "a-name-longer-than-15" }, "bridge"],
    [{ disableContainerInterface: true, ipam: { type: "host-local" } }, "disableContainerInterface"],
  ])("refuses %j with code 7 naming %s", (extra, field) => {
    const err = loadError(extra);
    expect(err.code).toBe(7);
    expect(`${err.message} ${err.details}`).toContain(field);
  });

  it("disableContainerInterface is fine without IPAM", () => {
    expect(load({ disableContainerInterface: true, ipam: {} }).netConf.disableContainerInterface).toBe(true);
  });
});
