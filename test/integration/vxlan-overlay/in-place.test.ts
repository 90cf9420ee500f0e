// The already-reconciled ADD, l2 and l3: the VTEP's stamp (its alias) names the list's
// fingerprint and the plugin's key of the inputs the list came from, so an ADD with the
// same inputs reads no list and only hashes the kernel's entries. What that must not do:
// let through a config it would refuse from empty (the config's own peers, a peersFile
// that is no longer JSON or over the limit), leave a hand-made change in place, or trust
// an alias edited by hand. Everything is read back from the kernel with ip/bridge -j.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_OVERLAY_PEERS } from "../../../overlay/plugin/config";
import { NetnsFixture, type UnderlayHost, fdb, nsExec } from "../../../netns-fixtures";
import { addContainer, l3Config, l3Entries, labConfig, linkNamed, runOverlay, tempDir } from "./harness";

const STAMP = /^cnikit-peers2 [0-9a-f]{16} \d+\.[0-9a-f]+\.[0-9a-f]+ [0-9a-f]{16};198\.18\.[\d.]+;198\.18\.[\d.]+;/;

describe.each([
  { mode: "l2", vni: 7131 },
  { mode: "l3", vni: 7132 },
] as const)("vxlan-overlay $mode: an ADD with the VTEP already reconciled", ({ mode, vni }) => {
  const vtep = `vx${vni}`;
  const fixture = new NetnsFixture();
  const temp = tempDir(`vxlan-in-place-${mode}`);
  const peersFile = path.join(temp.dir, "peers.json");
  let hosts: UnderlayHost[] = [];
  let added = 0;
  const host = () => hosts[0] as UnderlayHost;
  const peerList = () =>
    hosts.map((each, index) => (mode === "l2" ? each.address : { address: each.address, subnet: subnetOf(index) }));
  const subnetOf = (index: number) => `10.81.${index + 1}.0/24`;
  const writePeers = (peers: unknown) => fs.writeFileSync(peersFile, JSON.stringify(peers));
  const config = (extra: Record<string, unknown> = {}) =>
    mode === "l2"
      ? labConfig({ vni, hostIndex: 0, dataDir: path.join(temp.dir, "ipam"), peersFile, ...extra })
      : l3Config({ vni, ipamSubnet: subnetOf(0), dataDir: path.join(temp.dir, "ipam"), peersFile, ...extra });
  const add = (extra: Record<string, unknown> = {}) =>
    runOverlay({
      host: host(),
      command: "ADD",
      config: config(extra),
      container: fixture.containerNetns(),
      containerId: `in-place-${added++}`,
    });
  /** What the VTEP holds: every FDB entry with a destination, and in l3 the neighbours and routes. */
  const entries = () => ({
    fdb: fdb(host(), vtep)
      .filter((entry) => entry.dst !== undefined)
      .map((entry) => `${entry.mac} ${entry.dst}`)
      .sort(),
    ...(mode === "l3" && { l3: l3Entries(host(), vtep) }),
  });
  const alias = () => linkNamed(host(), vtep)?.ifalias as string | undefined;
  let reconciled: ReturnType<typeof entries>;
  let stamp: string | undefined;

  beforeAll(async () => {
    hosts = fixture.underlay({ hosts: 3 });
    writePeers(peerList());
    await addContainer({ host: host(), config: config(), container: fixture.containerNetns(), containerId: "first" });
    reconciled = entries();
    stamp = alias();
  });

  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      temp.remove();
    }
  });

  it("stamps the VTEP with the list's fingerprint and the key of its inputs, and keeps both in place", async () => {
    expect(stamp).toMatch(STAMP);
    expect(reconciled.fdb.filter((entry) => !entry.startsWith("00:00:00:00:00:00"))).toHaveLength(
      mode === "l2" ? 0 : 2,
    );
    const again = await add();
    expect(again.status).toBe(0);
    expect(entries()).toEqual(reconciled);
    expect(alias()).toBe(stamp);
  });

  it.each([
    [
      "the config's own peers conflict with the file's",
      // l2: a peer of the other underlay family; l3: a peer whose subnet is another's.
      () => ({ peers: mode === "l2" ? ["fd00::5"] : [{ address: "198.18.0.250", subnet: subnetOf(1) }] }),
      mode === "l2" ? "one underlay family" : "overlaps",
    ],
    ["the peersFile is no longer JSON", () => fs.writeFileSync(peersFile, "[not json"), "is not JSON"],
    [
      "the peersFile is over the limit",
      () => writePeers(Array.from({ length: MAX_OVERLAY_PEERS + 1 }, () => peerList()[1])),
      "exceed the limit",
    ],
  ])("refuses with code 7 when %s, as from empty, and changes nothing", async (_what, change, field) => {
    const extra = change() ?? {};
    const refused = await add(extra);
    writePeers(peerList());
    expect(refused.json).toMatchObject({ code: 7, msg: expect.stringContaining(field) });
    expect(entries()).toEqual(reconciled);
    expect(alias()).toBe(stamp);
  });

  it("takes a peer the config's own peers add, and drops it again when they do not", async () => {
    const extra = mode === "l2" ? "198.18.0.251" : { address: "198.18.0.251", subnet: "10.81.9.0/24" };
    expect((await add({ peers: [extra] })).status).toBe(0);
    expect(entries().fdb.some((entry) => entry.endsWith(" 198.18.0.251"))).toBe(true);
    expect((await add()).status).toBe(0);
    expect(entries()).toEqual(reconciled);
  });

  it("repairs by the next ADD an entry deleted by hand while the list stayed the same", async () => {
    const peer = hosts[1] as UnderlayHost;
    const removal =
      mode === "l2"
        ? ["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", vtep, "dst", peer.address]
        : ["ip", "route", "del", subnetOf(1), "dev", vtep];
    expect(nsExec(host(), removal).status).toBe(0);
    expect(entries()).not.toEqual(reconciled);
    expect((await add()).status).toBe(0);
    expect(entries()).toEqual(reconciled);
    expect(alias()).toBe(stamp);
  });

  it("removes by the next ADD an FDB entry added by hand through an address that is no peer", async () => {
    // l2: a unicast entry beside the flood list (learned ones through listed peers stay).
    const stray = ["02:00:00:00:00:99", "dev", vtep, "dst", "198.18.0.250", "self", "permanent"];
    expect(nsExec(host(), ["bridge", "fdb", "add", ...stray]).status).toBe(0);
    expect(entries().fdb).toContain("02:00:00:00:00:99 198.18.0.250");
    expect((await add()).status).toBe(0);
    expect(entries()).toEqual(reconciled);
  });

  it("goes the whole way when the alias was edited by hand, and stamps the VTEP again", async () => {
    const forged = `cnikit-peers2 0000000000000000 2.a.b 0000000000000000;198.18.0.250;${host().address};`;
    for (const edited of [forged, "an operator's note"]) {
      expect(nsExec(host(), ["ip", "link", "set", vtep, "alias", edited]).status).toBe(0);
      expect((await add()).status).toBe(0);
      expect(entries()).toEqual(reconciled);
      expect(alias()).toBe(stamp);
    }
  });
});
