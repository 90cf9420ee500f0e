// deleteLinkUnlisted: a veth deletion that returns once the kernel has announced the peer
// gone (both ends unlisted, the bridge port and its FDB entries removed), leaving the
// kernel's RCU wait and the ACK to `finish`; the ACK decides when no announcement comes.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, links } from "../../../netns-fixtures";
import { isNotFound } from "../../../src/netlink/codec/errors";
import { Handle } from "../../../src/netlink/handle";
import { addVeth } from "../../../src/netlink/link-create";
import { deleteLinkUnlisted } from "../../../src/netlink/link-delete";
import { getLink } from "../../../src/netlink/links";

const fixture = new NetnsFixture();
let host: Netns;
let ctr: Netns;

function ip(netns: Netns, ...args: string[]): string {
  const run = spawnSync("ip", ["-n", netns.name, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`ip ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

function fdbPorts(netns: Netns): string[] {
  const run = spawnSync("bridge", ["-n", netns.name, "-j", "fdb", "show", "br", "ldbr0"], { encoding: "utf8" });
  return (JSON.parse(run.stdout || "[]") as Array<{ ifname?: string }>).map((entry) => entry.ifname ?? "");
}

beforeAll(() => {
  host = fixture.hostNetns();
  ctr = fixture.containerNetns();
  ip(host, "link", "add", "ldbr0", "type", "bridge");
  ip(host, "link", "set", "ldbr0", "up");
});
afterAll(() => fixture.cleanup());

function vethOnBridge(hostEnd: string): void {
  const h = Handle.at(host.path);
  try {
    addVeth(h, {
      name: hostEnd,
      peerName: "eth0",
      peerNetns: ctr.path,
      up: true,
      masterIndex: getLink(h, "ldbr0").index,
    });
  } finally {
    h.close();
  }
  ip(ctr, "link", "set", "eth0", "up");
}

describe("deleteLinkUnlisted", () => {
  it("returns on the peer's announcement with both ends, the port and its FDB entries gone; finish ends the wait", () => {
    vethOnBridge("ldveth0");
    expect(fdbPorts(host)).toContain("ldveth0");
    const container = Handle.at(ctr.path);
    const index = getLink(container, "eth0").index;
    const deletion = deleteLinkUnlisted(container, index, { netns: host.path, name: "ldveth0" });
    expect(deletion.announced).toBe(true);
    expect(container.closed).toBe(true); // its socket went to the thread
    expect(links(ctr).map((link) => link.ifname)).not.toContain("eth0");
    expect(links(host).map((link) => link.ifname)).not.toContain("ldveth0");
    expect(fdbPorts(host)).not.toContain("ldveth0");
    // The names are free at once: the same pair again, while the first ACK may still be on its way.
    vethOnBridge("ldveth0");
    deletion.finish();
    expect(links(host).map((link) => link.ifname)).toContain("ldveth0");
    ip(host, "link", "del", "ldveth0");
  });

  it("waits for the ACK when no announcement names the watched link", () => {
    vethOnBridge("ldveth1");
    const container = Handle.at(ctr.path);
    const deletion = deleteLinkUnlisted(container, getLink(container, "eth0").index, {
      netns: host.path,
      name: "not-this-one",
    });
    expect(deletion.announced).toBe(false);
    expect(links(host).map((link) => link.ifname)).not.toContain("ldveth1");
    deletion.finish();
  });

  it("a link that is not there: NotFoundError, from the ACK", () => {
    const container = Handle.at(ctr.path);
    let error: unknown;
    try {
      deleteLinkUnlisted(container, 99_999, { netns: host.path, name: "ldveth9" });
    } catch (err) {
      error = err;
    }
    expect(isNotFound(error)).toBe(true);
    expect(container.closed).toBe(true);
  });
});
