// The pcap reader and the frame decoder of `cnikit capture`, on bytes built here: a
// VXLAN datagram carrying an ICMP echo between containers, fed to the reader in pieces.
import { describe, expect, it } from "vitest";
import { decodeEthernet, decodeRawIp, type EthernetFrame, type UdpDatagram } from "../../../src/cli/capture/frames";
import { PcapStreamReader } from "../../../src/cli/capture/pcap";
import { describeFrame } from "../../../src/cli/capture/summary";
import { ethernet, ipv4, ipv4Packet, mac, udp } from "../../helpers/packets";

function vxlan(vni: number, inner: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = 0x08;
  header.writeUIntBE(vni, 4, 3);
  return Buffer.concat([header, inner]);
}

const icmpEcho = Buffer.from([8, 0, 0, 0, 0, 1, 0, 1, ...Buffer.alloc(56)]);
const innerFrame = ethernet(
  "0a:00:00:00:02:02",
  "0a:00:00:00:01:02",
  0x0800,
  ipv4Packet("10.10.1.2", "10.10.2.2", 1, icmpEcho),
);
const outerFrame = ethernet(
  "02:00:00:00:00:02",
  "02:00:00:00:00:01",
  0x0800,
  ipv4Packet("198.18.0.1", "198.18.0.2", 17, udp(51000, 8999, vxlan(4242, innerFrame))),
);

function pcapFile(records: { seconds: number; micros: number; data: Buffer }[], littleEndian = true): Buffer {
  const header = Buffer.alloc(24);
  const u32 = (buffer: Buffer, value: number, offset: number): number =>
    littleEndian ? buffer.writeUInt32LE(value, offset) : buffer.writeUInt32BE(value, offset);
  const u16 = (buffer: Buffer, value: number, offset: number): number =>
    littleEndian ? buffer.writeUInt16LE(value, offset) : buffer.writeUInt16BE(value, offset);
  u32(header, 0xa1b2c3d4, 0);
  u16(header, 2, 4);
  u16(header, 4, 6);
  u32(header, 262144, 16);
  u32(header, 1, 20);
  const parts: Buffer[] = [header];
  for (const record of records) {
    const recordHeader = Buffer.alloc(16);
    u32(recordHeader, record.seconds, 0);
    u32(recordHeader, record.micros, 4);
    u32(recordHeader, record.data.length, 8);
    u32(recordHeader, record.data.length, 12);
    parts.push(recordHeader, record.data);
  }
  return Buffer.concat(parts);
}

const decodeOptions = { vxlanPorts: new Set([8999]) };

describe("pcap stream reader", () => {
  it("returns each record once all its bytes have come, whatever the chunking", () => {
    const file = pcapFile([
      { seconds: 1_700_000_000, micros: 250_000, data: outerFrame },
      { seconds: 1_700_000_001, micros: 5, data: innerFrame },
    ]);
    for (const chunkSize of [1, 7, 24, 100, file.length]) {
      const reader = new PcapStreamReader();
      const records = [];
      for (let offset = 0; offset < file.length; offset += chunkSize)
        records.push(...reader.push(file.subarray(offset, offset + chunkSize)));
      expect(reader.header).toMatchObject({ linkType: 1, snapLength: 262144, resolution: "us", littleEndian: true });
      expect(records.map((record) => [record.timestamp, record.data.length])).toEqual([
        [1_700_000_000.25, outerFrame.length],
        [1_700_000_001.000005, innerFrame.length],
      ]);
      expect(records[0]?.data.equals(outerFrame)).toBe(true);
      expect(reader.leftover).toBe(0);
    }
  });

  it("reads big-endian files and refuses what is not pcap", () => {
    const reader = new PcapStreamReader();
    expect(reader.push(pcapFile([{ seconds: 1, micros: 0, data: innerFrame }], false))).toHaveLength(1);
    expect(reader.header?.littleEndian).toBe(false);
    expect(() => new PcapStreamReader().push(Buffer.alloc(24, 0x41))).toThrow(/not a pcap stream \(magic 0x41414141\)/);
  });
});

describe("frame decoder", () => {
  it("opens a VXLAN datagram on the lab's port: VNI, inner MACs, inner IPv4 and protocol", () => {
    const frame = decodeEthernet(outerFrame, decodeOptions);
    expect(frame).toMatchObject({
      src: "02:00:00:00:00:01",
      dst: "02:00:00:00:00:02",
      network: { kind: "ipv4", src: "198.18.0.1", dst: "198.18.0.2", protocol: 17 },
    });
    const outerUdp = frame.network?.kind === "ipv4" ? (frame.network.transport as UdpDatagram) : undefined;
    expect(outerUdp).toMatchObject({ srcPort: 51000, dstPort: 8999, vxlan: { vni: 4242 } });
    const inner = outerUdp?.vxlan?.inner as EthernetFrame;
    expect(inner).toMatchObject({
      src: "0a:00:00:00:01:02",
      dst: "0a:00:00:00:02:02",
      network: { src: "10.10.1.2", dst: "10.10.2.2", protocol: 1, transport: { kind: "icmp", type: 8 } },
    });
    expect(describeFrame(frame)).toBe(
      "02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 198.18.0.1.51000 > 198.18.0.2.8999 UDP length 106 | vxlan vni 4242 | 0a:00:00:00:01:02 > 0a:00:00:00:02:02 IPv4 10.10.1.2 > 10.10.2.2 ICMP echo request length 84",
    );
  });

  it("leaves UDP on other ports alone", () => {
    const frame = decodeEthernet(outerFrame, { vxlanPorts: new Set([4789]) });
    expect(describeFrame(frame)).toBe(
      "02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 198.18.0.1.51000 > 198.18.0.2.8999 UDP length 106",
    );
  });

  it("names ARP, 802.1Q tags, fragments and TCP flags", () => {
    const arp = Buffer.concat([
      Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]),
      mac("0a:00:00:00:01:02"),
      ipv4("10.10.1.2"),
      Buffer.alloc(6),
      ipv4("10.10.1.1"),
    ]);
    expect(
      describeFrame(decodeEthernet(ethernet("ff:ff:ff:ff:ff:ff", "0a:00:00:00:01:02", 0x0806, arp), decodeOptions)),
    ).toBe("0a:00:00:00:01:02 > ff:ff:ff:ff:ff:ff ARP who-has 10.10.1.1 tell 10.10.1.2");
    const tagged = ethernet(
      "0a:00:00:00:00:02",
      "0a:00:00:00:00:01",
      0x8100,
      Buffer.concat([Buffer.from([0x00, 0x64, 0x08, 0x00]), ipv4Packet("10.0.0.1", "10.0.0.2", 1, icmpEcho)]),
    );
    expect(describeFrame(decodeEthernet(tagged, decodeOptions))).toMatch(
      / vlan 100 IPv4 10\.0\.0\.1 > 10\.0\.0\.2 ICMP echo request/,
    );
    const fragment = ipv4Packet("10.0.0.1", "10.0.0.2", 17, Buffer.alloc(100), 185);
    expect(
      describeFrame(
        decodeEthernet(ethernet("0a:00:00:00:00:02", "0a:00:00:00:00:01", 0x0800, fragment), decodeOptions),
      ),
    ).toMatch(/IPv4 10\.0\.0\.1 > 10\.0\.0\.2 UDP frag offset 1480 length 120$/);
    const syn = Buffer.alloc(20);
    syn.writeUInt16BE(40000, 0);
    syn.writeUInt16BE(80, 2);
    syn[13] = 0x12;
    expect(
      describeFrame(
        decodeEthernet(
          ethernet("0a:00:00:00:00:02", "0a:00:00:00:00:01", 0x0800, ipv4Packet("10.0.0.1", "10.0.0.2", 6, syn)),
          decodeOptions,
        ),
      ),
    ).toMatch(/10\.0\.0\.1\.40000 > 10\.0\.0\.2\.80 TCP \[S\.\]/);
  });

  it("reads an IPv6 header's addresses, next header, hop limit and length; a short one is truncated", () => {
    const datagram = udp(40000, 53, Buffer.from("hi"));
    const header = Buffer.alloc(40);
    header[0] = 0x60;
    header.writeUInt16BE(datagram.length, 4);
    header[6] = 17;
    header[7] = 9;
    Buffer.from("fd000000000000000000000000000001", "hex").copy(header, 8);
    Buffer.from("fd0000000000000000000000000000a2", "hex").copy(header, 24);
    const packet = Buffer.concat([header, datagram]);
    expect(decodeRawIp(packet, decodeOptions)).toMatchObject({
      kind: "ipv6",
      src: "fd00::1",
      dst: "fd00::a2",
      protocol: 17,
      ttl: 9,
      length: 50,
      transport: { kind: "udp", srcPort: 40000, dstPort: 53 },
    });
    expect(decodeRawIp(packet.subarray(0, 39), decodeOptions)).toEqual({
      kind: "ipv6",
      src: "",
      dst: "",
      protocol: 0,
      ttl: 0,
      length: 39,
      truncated: true,
    });
  });

  it("decodes raw IP frames and never throws on short ones", () => {
    expect(decodeRawIp(ipv4Packet("10.0.0.1", "10.0.0.2", 1, icmpEcho), decodeOptions)).toMatchObject({
      kind: "ipv4",
      src: "10.0.0.1",
      dst: "10.0.0.2",
      protocol: 1,
      ttl: 64,
      length: 20 + icmpEcho.length,
    });
    for (let length = 0; length < outerFrame.length; length += 3) {
      expect(() => describeFrame(decodeEthernet(outerFrame.subarray(0, length), decodeOptions))).not.toThrow();
    }
    expect(describeFrame(decodeEthernet(outerFrame.subarray(0, 20), decodeOptions))).toMatch(/IPv4 \[truncated\]/);
  });
});
