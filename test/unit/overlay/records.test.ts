import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cappedBackoff, parseEndpoints } from "../../../overlay/membership/etcd-client";
import { peersFileContent, readSubnetFile, writeFileAtomic } from "../../../overlay/membership/files";
import { OverlayKeys, parseHostLease, parseReservation, serializeHostLease } from "../../../overlay/membership/records";

describe("records", () => {
  it("lays keys out per network", () => {
    const keys = new OverlayKeys("/cnikit/overlay/", "ov1");
    expect(keys.config).toBe("/cnikit/overlay/ov1/config");
    expect(keys.lease("198.18.0.1")).toBe("/cnikit/overlay/ov1/leases/198.18.0.1");
    expect(keys.subnet("fd20:0:0:7::/64")).toBe("/cnikit/overlay/ov1/subnets/fd20:0:0:7::-64");
    expect(keys.hostIdOfLeaseKey("/cnikit/overlay/ov1/leases/h1")).toBe("h1");
    expect(keys.hostIdOfLeaseKey("/cnikit/overlay/ov2/leases/h1")).toBeUndefined();
    expect(() => new OverlayKeys("/p", "a/b")).toThrow(/network name/);
  });

  it("round-trips a host lease and names a bad field", () => {
    const lease = { hostId: "h1", underlayAddress: "198.18.0.1", subnet: "10.20.1.0/24", vtepMac: "02:aa:00:00:00:01" };
    expect(parseHostLease(serializeHostLease(lease))).toEqual(lease);
    expect(() => parseHostLease(JSON.stringify({ hostId: "h1", underlayAddress: "nope" }))).toThrow(
      /underlayAddress "nope"/,
    );
    expect(() => parseHostLease(JSON.stringify({ underlayAddress: "198.18.0.1" }))).toThrow(/hostId/);
    expect(() => parseHostLease(JSON.stringify({ hostId: "h1", underlayAddress: "198.18.0.1", subnet: 5 }))).toThrow(
      /subnet must be a string/,
    );
  });

  it("reads a damaged reservation as none", () => {
    expect(parseReservation("{bad")).toEqual({});
    expect(parseReservation(JSON.stringify({ subnet: "10.20.1.0/24" }))).toEqual({ subnet: "10.20.1.0/24" });
  });
});

describe("endpoints and backoff", () => {
  it("normalises endpoint lists", () => {
    expect(parseEndpoints("198.18.0.1:2379, http://198.18.0.2:2379/")).toEqual([
      "http://198.18.0.1:2379",
      "http://198.18.0.2:2379",
    ]);
    expect(parseEndpoints(["https://[fd00::1]:2379"])).toEqual(["https://[fd00::1]:2379"]);
    expect(() => parseEndpoints("")).toThrow(/no endpoint/);
    expect(() => parseEndpoints("unix://x")).toThrow(/only http/);
  });

  it("backs off up to the cap", () => {
    let backoff = cappedBackoff(1_000);
    const durations: number[] = [];
    for (let step = 0; step < 6; step++, backoff = backoff.next()) durations.push(backoff.duration);
    expect(durations).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe("files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-overlay-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes atomically, and not at all when the content is unchanged", () => {
    const file = path.join(dir, "sub", "peers.json");
    const content = peersFileContent([
      { hostId: "b", underlayAddress: "198.18.0.10", subnet: "10.20.2.0/24" },
      { hostId: "a", underlayAddress: "198.18.0.9", ipv6Subnet: "fd20:0:0:1::/64" },
    ]);
    expect(JSON.parse(content)).toEqual([
      { address: "198.18.0.9", subnet: "fd20:0:0:1::/64" },
      { address: "198.18.0.10", subnet: "10.20.2.0/24" },
    ]);
    expect(writeFileAtomic(file, content)).toBe(true);
    expect(writeFileAtomic(file, content)).toBe(false);
    expect(fs.readFileSync(file, "utf8")).toBe(content);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["peers.json"]);
  });

  it("never writes through a name planted at its temporary file, and reads no FIFO", () => {
    const file = path.join(dir, "planted", "peers.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const outside = path.join(dir, "outside.txt");
    fs.writeFileSync(outside, "keep");
    fs.symlinkSync(outside, `${file}.${process.pid}.tmp`);
    expect(writeFileAtomic(file, "[]\n")).toBe(true);
    expect(fs.readFileSync(outside, "utf8")).toBe("keep");
    expect(fs.readFileSync(file, "utf8")).toBe("[]\n");
    const fifo = path.join(dir, "planted", "subnet.json");
    execFileSync("mkfifo", [fifo]);
    expect(readSubnetFile(fifo)).toBeUndefined(); // at once: the open does not wait for a writer
  });

  it("reads back an earlier subnetFile, or nothing", () => {
    const file = path.join(dir, "subnet.json");
    expect(readSubnetFile(file)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ subnet: "10.20.4.0/24", hostId: "h" }));
    expect(readSubnetFile(file)).toEqual({ subnet: "10.20.4.0/24", hostId: "h" });
  });
});
