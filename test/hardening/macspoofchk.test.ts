// macspoofchk and ipMasqBackend: no accepted option may do nothing. With macspoofchk a
// container's frames carrying another source MAC are dropped at the host end of its
// veth (the bridge never learns that MAC, the peer never answers), its own MAC passes,
// and DEL removes the rules. A container without it, on the same bridge, is the
// control: its spoofed MAC does reach the bridge. ipMasqBackend "iptables" cannot be
// honoured here: code 2 naming it, host unchanged.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture, fdb, links, nsExec, ping } from "../../netns-fixtures";
import { type HostCall, type HostExit, runInHost } from "./harness";
import { snapshotHost } from "./snapshot";

const fixture = new NetnsFixture();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-spoof-"));
let host: Netns;
let bridge: string;

beforeAll(() => {
  host = fixture.underlay({ hosts: 1 })[0] as Netns;
  bridge = `hzsp${fixture.prefix.slice(-4, -1)}`;
});

afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

function config(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    cniVersion: "1.1.0",
    name: "hz-spoof",
    type: "bridge",
    bridge,
    isGateway: true,
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.66.0.0/24" }]] },
    ...extra,
  };
}

function call(command: HostCall["command"], containerId: string, netns: Netns, extra: Record<string, unknown> = {}) {
  return runInHost({
    hostNetns: host.path,
    plugin: "bridge",
    command,
    config: config(extra),
    containerId,
    containerNetns: netns.path,
  });
}

function addressOf(exit: HostExit): string {
  const ips = (exit.json?.ips ?? []) as Array<{ address: string }>;
  return String(ips[0]?.address.split("/")[0]);
}

function hostEndOf(exit: HostExit): string {
  const ifaces = exit.json?.interfaces as Array<{ name: string; sandbox?: string }>;
  return String(ifaces.find((iface) => !iface.sandbox && iface.name !== bridge)?.name);
}

interface NftItem {
  chain?: { name: string };
  rule?: { chain: string; comment?: string; expr: unknown[] };
}

function spoofTable(): NftItem[] {
  const listed = nsExec(host, ["nft", "-j", "list", "table", "bridge", "cnikit_spoofchk"]);
  if (listed.status !== 0) return [];
  return (JSON.parse(listed.stdout) as { nftables: NftItem[] }).nftables;
}

const SPOOFED = "02:66:66:66:66:66";

function spoofAndPing(netns: Netns, target: string): boolean {
  expect(nsExec(netns, ["ip", "link", "set", "eth0", "address", SPOOFED]).status).toBe(0);
  return ping(netns, target, 3);
}

describe("macspoofchk", () => {
  it("drops frames with another source MAC, lets the right one pass, and DEL removes the rules", async () => {
    const guarded = fixture.containerNetns();
    const peer = fixture.containerNetns();
    const control = fixture.containerNetns();
    const addGuarded = await call("ADD", "hzguarded", guarded, { macspoofchk: true });
    expect(addGuarded.status).toBe(0);
    const addPeer = await call("ADD", "hzpeer", peer);
    const addControl = await call("ADD", "hzcontrol", control);
    expect([addPeer.status, addControl.status]).toEqual([0, 0]);
    const peerAddress = addressOf(addPeer);
    const guardedMac = links(guarded).find((link) => link.ifname === "eth0")?.address;

    // The rules, as nft lists them: a jump for the guarded host end, its MAC let through, the rest dropped.
    const items = spoofTable();
    const jump = items.find((item) => item.rule?.chain === "prerouting");
    expect(JSON.stringify(jump?.rule?.expr)).toContain(`"right":"${hostEndOf(addGuarded)}"`);
    const portChain = items.find((item) => item.chain?.name.startsWith("port-"))?.chain?.name;
    const portRules = items.filter((item) => item.rule?.chain === portChain).map((item) => item.rule?.expr);
    expect(JSON.stringify(portRules)).toBe(
      JSON.stringify([
        [
          { match: { op: "==", left: { payload: { protocol: "ether", field: "saddr" } }, right: guardedMac } },
          { return: null },
        ],
        [{ drop: null }],
      ]),
    );

    // Its own MAC passes; another is dropped before the bridge learns it.
    expect(ping(guarded, peerAddress, 2)).toBe(true);
    expect(spoofAndPing(guarded, peerAddress)).toBe(false);
    expect(fdb(host).some((entry) => entry.mac === SPOOFED)).toBe(false);
    // The control (no macspoofchk) with the same spoofed MAC reaches the bridge.
    spoofAndPing(control, peerAddress);
    expect(fdb(host).some((entry) => entry.mac === SPOOFED)).toBe(true);

    expect((await call("DEL", "hzguarded", guarded, { macspoofchk: true })).status).toBe(0);
    const after = spoofTable();
    expect(after.filter((item) => item.rule?.chain === "prerouting")).toEqual([]);
    expect(after.filter((item) => item.chain?.name.startsWith("port-"))).toEqual([]);
    // DEL again: nothing to remove is success.
    expect((await call("DEL", "hzguarded", guarded, { macspoofchk: true })).status).toBe(0);
    await call("DEL", "hzpeer", peer);
    await call("DEL", "hzcontrol", control);
  });
});

describe("ipMasqBackend", () => {
  it('"iptables" is refused with code 2 naming it, host unchanged; "nftables" is honoured', async () => {
    const netns = fixture.containerNetns();
    const before = snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix });
    const refused = await call("ADD", "hzbackend", netns, { ipMasq: true, ipMasqBackend: "iptables" });
    expect(refused.status).toBe(1);
    expect(refused.json).toMatchObject({
      code: 2,
      msg: expect.stringMatching(/^ipMasqBackend: "iptables" is not supported/),
    });
    expect(snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix })).toEqual(before);
    const added = await call("ADD", "hzbackend", netns, { ipMasq: true, ipMasqBackend: "nftables" });
    expect(added.status).toBe(0);
    expect((await call("DEL", "hzbackend", netns, { ipMasq: true, ipMasqBackend: "nftables" })).status).toBe(0);
  });
});
