// Handle lifetime and namespace binding, bad namespace paths, sysctls per namespace.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, nsExec } from "../../../netns-fixtures";
import { Handle } from "../../../src/netlink/handle";
import { addVeth } from "../../../src/netlink/link-create";
import { listLinks } from "../../../src/netlink/links";
import { interfaceSysctl, readSysctl, writeSysctl } from "../../../src/netlink/sysctl";
import { NetnsError } from "../../../src/netns/errors";

const fixture = new NetnsFixture();
let ns: Netns;
let other: Netns;
let scratch: string;

beforeAll(() => {
  ns = fixture.hostNetns();
  other = fixture.containerNetns();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cknetlink-"));
});
afterAll(() => {
  fixture.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const openFds = (): number => fs.readdirSync("/proc/self/fd").length;
const ownNetns = (): string => {
  const stat = fs.statSync("/proc/thread-self/ns/net");
  return `${stat.dev}:${stat.ino}`;
};

describe("Handle.at", () => {
  it("1,000 open/close cycles leak no fd and leave the thread in its own namespace", () => {
    const before = { fds: openFds(), netns: ownNetns() };
    for (let i = 0; i < 1000; i++) {
      const h = Handle.at(i % 2 === 0 ? ns.path : other.path);
      if (i % 100 === 0) expect(listLinks(h).map((l) => l.name)).toContain("lo");
      h.close();
    }
    expect({ fds: openFds(), netns: ownNetns() }).toEqual(before);
  });

  it("accepts an open namespace fd, and close is idempotent", () => {
    const fd = fs.openSync(ns.path, "r");
    try {
      const h = Handle.at(fd);
      addVeth(h, { name: "byfd0", peerName: "byfd1" });
      h.close();
      h.close();
      expect(h.closed).toBe(true);
      expect(() => listLinks(h)).toThrow(/closed/);
    } finally {
      fs.closeSync(fd);
    }
    expect(nsExec(ns, ["ip", "link", "show", "byfd0"]).status).toBe(0);
  });

  it("null means the caller's own namespace", () => {
    const h = Handle.at(null);
    try {
      expect(listLinks(h).length).toBeGreaterThan(0);
    } finally {
      h.close();
    }
  });

  it("bad paths: missing, regular file, directory", () => {
    const file = path.join(scratch, "plain");
    fs.writeFileSync(file, "not a namespace");
    const cases: [string, string][] = [
      [path.join(scratch, "missing"), "ENOENT"],
      [file, "ENOTNETNS"],
      [scratch, "ENOTNETNS"],
    ];
    const before = openFds();
    for (const [bad, code] of cases) {
      let caught: unknown;
      try {
        Handle.at(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(NetnsError);
      expect(caught).toMatchObject({ code, path: bad });
    }
    expect(openFds()).toBe(before);
  });
});

describe("sysctl", () => {
  it("writes and reads inside the namespace only (dotted and slash keys)", () => {
    writeSysctl(ns.path, "net.ipv4.ip_forward", "1");
    expect(nsExec(ns, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.trim()).toBe("1");
    expect(readSysctl(ns.path, "net/ipv4/ip_forward")).toBe("1");
    expect(nsExec(other, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.trim()).toBe("0");
    writeSysctl(ns.path, "net/ipv4/ip_forward", "0");
    expect(readSysctl(ns.path, "net.ipv4.ip_forward")).toBe("0");
  });

  it("interface names with dots", () => {
    const h = Handle.at(ns.path);
    try {
      addVeth(h, { name: "eth0.100", peerName: "eth0.100p" });
    } finally {
      h.close();
    }
    writeSysctl(ns.path, "net.ipv6.conf.eth0/100.accept_dad", "0");
    expect(nsExec(ns, ["cat", "/proc/sys/net/ipv6/conf/eth0.100/accept_dad"]).stdout.trim()).toBe("0");
    writeSysctl(ns.path, interfaceSysctl(6, "eth0.100", "accept_dad"), "2");
    expect(readSysctl(ns.path, interfaceSysctl(6, "eth0.100", "accept_dad"))).toBe("2");
  });

  it("a missing key fails with the path in the message", () => {
    expect(() => writeSysctl(ns.path, "net.ipv4.conf.nosuchif.forwarding", "1")).toThrow(/nosuchif/);
  });
});
