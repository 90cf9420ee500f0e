// Neighbours, FDB entries (vxlan remotes, bridge ports) and bridge VLANs, read back
// with `ip -j neigh` and `bridge -j fdb` / `bridge -j vlan`.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type Netns, fdb, neigh } from "../../../netns-fixtures";
import { Nud } from "../../../src/netlink/codec/constants";
import { NotFoundError, isExists } from "../../../src/netlink/codec/errors";
import type { Handle } from "../../../src/netlink/handle";
import { addBridgeVlan, deleteBridgeVlan, listBridgeVlans } from "../../../src/netlink/bridge";
import { addBridge, addVeth, addVxlan } from "../../../src/netlink/link-create";
import { getLink, setLink, setLinkUp } from "../../../src/netlink/links";
import { addNeigh, appendNeigh, deleteNeigh, listNeighs, replaceNeigh } from "../../../src/netlink/neigh";
import { netlinkHost } from "../../helpers/netlink-host";

let ns: Netns;
let h: Handle;
const ZERO_MAC = "00:00:00:00:00:00";

netlinkHost({
  ready: (made, handle) => {
    ns = made;
    h = handle;
    addVeth(h, { name: "p0", peerName: "p0peer" });
    setLinkUp(h, "p0");
    addBridge(h, { name: "br0" });
    setLink(h, "p0", { master: "br0" });
    addVxlan(h, { name: "vx0", vni: 100, local: "198.18.0.1", port: 4789, learning: false });
  },
});

describe("neighbours", () => {
  it("add, replace, list, delete (v4 and v6)", () => {
    addNeigh(h, { link: "p0", dst: "10.40.0.9", lladdr: "02:00:00:00:04:09" });
    addNeigh(h, { link: "p0", dst: "fd00:40::9", lladdr: "02:00:00:00:04:0a" });
    expect(neigh(ns).find((n) => n.dst === "10.40.0.9")).toMatchObject({
      dev: "p0",
      lladdr: "02:00:00:00:04:09",
      state: ["PERMANENT"],
    });
    expect(neigh(ns).find((n) => n.dst === "fd00:40::9")).toMatchObject({ lladdr: "02:00:00:00:04:0a" });
    let caught: unknown;
    try {
      addNeigh(h, { link: "p0", dst: "10.40.0.9", lladdr: "02:00:00:00:04:09" });
    } catch (err) {
      caught = err;
    }
    expect(isExists(caught)).toBe(true);
    replaceNeigh(h, { link: "p0", dst: "10.40.0.9", lladdr: "02:00:00:00:04:99" });
    expect(neigh(ns).find((n) => n.dst === "10.40.0.9")?.lladdr).toBe("02:00:00:00:04:99");
    const ours = listNeighs(h, { link: "p0" }).filter((n) => n.state === Nud.PERMANENT);
    expect(ours.map((n) => `${n.dst} ${n.lladdr}`).sort()).toEqual([
      "10.40.0.9 02:00:00:00:04:99",
      "fd00:40::9 02:00:00:00:04:0a",
    ]);
    deleteNeigh(h, { link: "p0", dst: "10.40.0.9" });
    expect(neigh(ns).find((n) => n.dst === "10.40.0.9")).toBeUndefined();
    expect(() => deleteNeigh(h, { link: "p0", dst: "10.40.0.9" })).toThrow(NotFoundError);
  });
});

describe("FDB", () => {
  it("vxlan flood entries: one all-zeros entry appended per peer", () => {
    appendNeigh(h, { link: "vx0", family: "bridge", lladdr: ZERO_MAC, dst: "198.18.0.2" });
    appendNeigh(h, { link: "vx0", family: "bridge", lladdr: ZERO_MAC, dst: "198.18.0.3" });
    const remotes = fdb(ns, "vx0")
      .filter((e) => e.mac === ZERO_MAC)
      .map((e) => e.dst)
      .sort();
    expect(remotes).toEqual(["198.18.0.2", "198.18.0.3"]);
    expect(fdb(ns, "vx0").find((e) => e.dst === "198.18.0.2")).toMatchObject({ flags: ["self"], state: "permanent" });
  });

  it("a MAC entry with its own vni and port; replace moves it to another remote", () => {
    addNeigh(h, {
      link: "vx0",
      family: "bridge",
      lladdr: "02:00:00:00:05:01",
      dst: "198.18.0.4",
      vni: 200,
      port: 4790,
    });
    expect(fdb(ns, "vx0").find((e) => e.mac === "02:00:00:00:05:01")).toMatchObject({
      dst: "198.18.0.4",
      vni: 200,
      port: 4790,
    });
    replaceNeigh(h, { link: "vx0", family: "bridge", lladdr: "02:00:00:00:05:01", dst: "198.18.0.5" });
    const entries = fdb(ns, "vx0").filter((e) => e.mac === "02:00:00:00:05:01");
    expect(entries.map((e) => e.dst)).toEqual(["198.18.0.5"]);
  });

  it("bridge (master) entry on a port", () => {
    addNeigh(h, { link: "p0", family: "bridge", lladdr: "02:00:00:00:06:01", master: true, state: Nud.NOARP });
    expect(fdb(ns, "p0").find((e) => e.mac === "02:00:00:00:06:01")).toMatchObject({ master: "br0", state: "static" });
    const ours = listNeighs(h, { family: "bridge", master: "br0" }).find((n) => n.lladdr === "02:00:00:00:06:01");
    expect(ours?.index).toBe(getLink(h, "p0").index);
    deleteNeigh(h, { link: "p0", family: "bridge", lladdr: "02:00:00:00:06:01", master: true });
    expect(fdb(ns, "p0").find((e) => e.mac === "02:00:00:00:06:01")).toBeUndefined();
  });

  it("list agrees with bridge fdb; delete a remote; missing entry is NotFoundError", () => {
    const key = (mac?: string, dst?: string) => `${mac} ${dst ?? "-"}`;
    expect(
      listNeighs(h, { family: "bridge", link: "vx0" })
        .map((n) => key(n.lladdr, n.dst))
        .sort(),
    ).toEqual(
      fdb(ns, "vx0")
        .map((e) => key(e.mac, e.dst))
        .sort(),
    );
    deleteNeigh(h, { link: "vx0", family: "bridge", lladdr: ZERO_MAC, dst: "198.18.0.2" });
    expect(
      fdb(ns, "vx0")
        .filter((e) => e.mac === ZERO_MAC)
        .map((e) => e.dst),
    ).toEqual(["198.18.0.3"]);
    deleteNeigh(h, { link: "vx0", family: "bridge", lladdr: ZERO_MAC, dst: "198.18.0.3" });
    expect(() => deleteNeigh(h, { link: "vx0", family: "bridge", lladdr: ZERO_MAC, dst: "198.18.0.3" })).toThrow(
      NotFoundError,
    );
  });
});

// Needs CONFIG_BRIDGE_VLAN_FILTERING; some kernels (this project's CI machine among
// them) lack it, which `ip` shows as EOPNOTSUPP too.
function kernelHasVlanFiltering(): boolean {
  const probe = spawnSync("ip", ["-n", ns.name, "link", "add", "vlprobe", "type", "bridge", "vlan_filtering", "1"], {
    encoding: "utf8",
  });
  spawnSync("ip", ["-n", ns.name, "link", "del", "vlprobe"]);
  return probe.status === 0;
}

describe("bridge VLANs", () => {
  it("port vid with pvid/untagged, a trunk range, self on the bridge", (ctx) => {
    if (!kernelHasVlanFiltering()) ctx.skip("kernel without bridge VLAN filtering");
    addBridge(h, { name: "brv", vlanFiltering: true });
    addVeth(h, { name: "pv0", peerName: "pv0peer" });
    setLink(h, "pv0", { master: "brv" });
    addBridgeVlan(h, { link: "pv0", vid: 10, pvid: true, untagged: true });
    addBridgeVlan(h, { link: "pv0", vid: 20, vidEnd: 25 });
    addBridgeVlan(h, { link: "brv", vid: 10, self: true });
    const shown = JSON.parse(
      spawnSync("bridge", ["-n", ns.name, "-j", "vlan", "show"], { encoding: "utf8" }).stdout,
    ) as { ifname: string; vlans: { vlan: number; vlanEnd?: number; flags?: string[] }[] }[];
    const pv0 = shown.find((p) => p.ifname === "pv0")?.vlans ?? [];
    expect(pv0.find((v) => v.vlan === 10)?.flags).toEqual(expect.arrayContaining(["PVID", "Egress Untagged"]));
    expect(pv0.some((v) => v.vlan === 20 && v.vlanEnd === 25)).toBe(true);
    expect(
      listBridgeVlans(h)
        .get(getLink(h, "pv0").index)
        ?.find((v) => v.vid === 10),
    ).toEqual({ vid: 10, pvid: true, untagged: true });
    deleteBridgeVlan(h, { link: "pv0", vid: 20, vidEnd: 25 });
    expect(
      listBridgeVlans(h)
        .get(getLink(h, "pv0").index)
        ?.some((v) => v.vid === 22),
    ).toBe(false);
  });
});
