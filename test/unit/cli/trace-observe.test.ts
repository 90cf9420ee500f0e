// What `cnikit trace` reads while its packet crosses: Linux cooked v2 records matched
// against the probe (bare, inside VXLAN, quoted by an ICMP error), the ftrace buffer
// (lines as this kernel prints them) with our packet's drop picked out of everyone's,
// and `nft -a monitor trace` lines (as nftables 1.0.6 prints them).
import { describe, expect, it } from "vitest";
import { findOurDrops, parseFtrace } from "../../../src/cli/trace/kernel-drops";
import { decodeSll2, matchProbe, type ProbeSignature } from "../../../src/cli/trace/match";
import { markerRuleset, parseTraceDrops } from "../../../src/cli/trace/nftrace";
import { eventFilters } from "../../../src/cli/trace/tracefs-session";
import { DONT_FRAGMENT, ethernet as buildEthernet, ipv4Packet as buildIpv4, udp } from "../../helpers/packets";

// Trace probes are sent with DF set; an Ethernet header with no addresses is enough here.
const ipv4Packet = (src: string, dst: string, protocol: number, payload: Buffer): Buffer =>
  buildIpv4(src, dst, protocol, payload, DONT_FRAGMENT);
const ethernet = (payload: Buffer): Buffer => buildEthernet("00:00:00:00:00:00", "00:00:00:00:00:00", 0x0800, payload);

function sll2(ip: Buffer, ifIndex: number, packetType: number): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0800, 0);
  header.writeUInt32BE(ifIndex, 4);
  header.writeUInt16BE(1, 8);
  header[10] = packetType;
  header[11] = 6;
  return Buffer.concat([header, ip]);
}

const signature: ProbeSignature = {
  proto: "udp",
  family: 4,
  src: "10.10.1.2",
  dst: "10.10.2.2",
  sourcePort: 45000,
  port: 33434,
  size: 100,
  vxlanPorts: [4789],
};
const probe = ipv4Packet("10.10.1.2", "10.10.2.2", 17, udp(45000, 33434, Buffer.alloc(72)));

describe("matchProbe", () => {
  it("knows our datagram by addresses, ports and length, and its direction and interface from the SLL2 header", () => {
    const record = decodeSll2(sll2(probe, 5, 4));
    expect(record).toMatchObject({ ifIndex: 5, direction: "out" });
    expect(matchProbe(record?.ip as Buffer, signature)).toEqual({ kind: "probe", outer: false });
    expect(decodeSll2(sll2(probe, 2, 0))?.direction).toBe("in");
    expect(
      matchProbe(ipv4Packet("10.10.1.2", "10.10.2.2", 17, udp(45001, 33434, Buffer.alloc(72))), signature),
    ).toBeUndefined();
    expect(
      matchProbe(ipv4Packet("10.10.1.2", "10.10.2.2", 17, udp(45000, 33434, Buffer.alloc(60))), signature),
    ).toBeUndefined();
  });

  it("finds it inside VXLAN", () => {
    const vxlanHeader = Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0]);
    const outer = ipv4Packet(
      "198.18.0.1",
      "198.18.0.2",
      17,
      udp(51000, 4789, Buffer.concat([vxlanHeader, ethernet(probe)])),
    );
    expect(matchProbe(outer, signature)).toEqual({ kind: "probe", outer: true });
    expect(matchProbe(outer, { ...signature, vxlanPorts: [8472] })).toBeUndefined();
  });

  it("reads an ICMP fragmentation needed that quotes it, with the MTU", () => {
    const icmp = Buffer.alloc(8);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp.writeUInt16BE(1350, 6);
    const error = ipv4Packet("10.10.2.2", "10.10.1.2", 1, Buffer.concat([icmp, probe.subarray(0, 28)]));
    expect(matchProbe(error, signature)).toEqual({
      kind: "icmp-error",
      from: "10.10.2.2",
      type: 3,
      code: 4,
      mtu: 1350,
    });
  });

  it("an echo request for icmp, a SYN for tcp", () => {
    const echo = Buffer.alloc(80);
    echo[0] = 8;
    expect(matchProbe(ipv4Packet("10.10.1.2", "10.10.2.2", 1, echo), { ...signature, proto: "icmp" })).toEqual({
      kind: "probe",
      outer: false,
    });
    const syn = Buffer.alloc(40);
    syn.writeUInt16BE(45000, 0);
    syn.writeUInt16BE(33434, 2);
    syn[12] = 0xa0;
    syn[13] = 0x02;
    expect(matchProbe(ipv4Packet("10.10.1.2", "10.10.2.2", 6, syn), { ...signature, proto: "tcp", size: 60 })).toEqual({
      kind: "probe",
      outer: false,
    });
  });
});

// Recorded on this machine's kernel (6.18): a lab's packet dropped by a VTEP without an FDB
// entry, amid another lab's traffic (an IPv6 multicast drop, a reused skb address).
const TRACE = `# tracer: nop
#
            bash-30683   [000] b....  2846.223400: net_dev_queue: dev=eth0 skbaddr=00000000a6ed2993 len=114
            bash-30683   [000] ..s1.  2846.223410: netif_receive_skb: dev=veth98e7d44e3ee skbaddr=00000000a6ed2993 len=100
     kworker/1:2-2632    [001] ..s1.  2846.223415: kfree_skb: skbaddr=000000004c7b8389 rx_sk=0000000000000000 protocol=2048 location=ip6_mc_input+0x1a6/0x2c0 reason: NOT_SPECIFIED
            bash-30683   [000] b.s1.  2846.223421: net_dev_queue: dev=vx42 skbaddr=00000000a6ed2993 len=114
            bash-30683   [000] b.s1.  2846.223423: kfree_skb: skbaddr=00000000a6ed2993 rx_sk=0000000000000000 protocol=2048 location=vxlan_xmit+0xdb0/0x1630 reason: NO_TX_TARGET
            node-31045   [000] ..s1.  2846.264026: kfree_skb: skbaddr=00000000a6ed2993 rx_sk=0000000000000000 protocol=2048 location=__udp4_lib_rcv+0x4bc/0xd00 reason: NO_SOCKET
`;

describe("the kernel's drops", () => {
  it("parses ftrace's lines, comm with dashes and all", () => {
    const events = parseFtrace(
      `${TRACE}     kworker/u8:3-sock-99     [001] ..s1.  2846.3: net_dev_queue: dev=ul0 skbaddr=00000000deadbeef len=164\n`,
    );
    expect(events).toHaveLength(7);
    expect(events[0]).toEqual({
      comm: "bash",
      pid: 30683,
      cpu: 0,
      time: 2846.2234,
      event: "net_dev_queue",
      skbaddr: "00000000a6ed2993",
      dev: "eth0",
      len: 114,
    });
    expect(events[4]).toMatchObject({
      event: "kfree_skb",
      protocol: 2048,
      location: "vxlan_xmit+0xdb0/0x1630",
      reason: "NO_TX_TARGET",
    });
    expect(events[6]).toMatchObject({ comm: "kworker/u8:3-sock", pid: 99, dev: "ul0" });
  });

  it("follows our packet from the sender's transmit to its drop, and nobody else's", () => {
    const drops = findOurDrops(parseFtrace(TRACE), {
      senderPid: 30683,
      sourceDevice: "eth0",
      devices: new Set(["eth0", "veth98e7d44e3ee", "vx42", "ul0"]),
      lengths: new Set([100, 114]),
    });
    expect(drops).toEqual([{ reason: "NO_TX_TARGET", location: "vxlan_xmit+0xdb0/0x1630", lastDevice: "vx42" }]);
    // Sent by someone else: not ours.
    expect(
      findOurDrops(parseFtrace(TRACE), {
        senderPid: 1,
        sourceDevice: "eth0",
        devices: new Set(["eth0", "vx42"]),
        lengths: new Set([100, 114]),
      }),
    ).toEqual([]);
  });

  it("a drop inside the sender's own send, before any device saw it", () => {
    const line =
      "          cnikit-777     [001] .....  10.5: kfree_skb: skbaddr=00000000aaaa rx_sk=0000000000000000 protocol=2048 location=nf_hook_slow+0x9b/0x100 reason: NETFILTER_DROP\n";
    expect(
      findOurDrops(parseFtrace(line), {
        senderPid: 777,
        sourceDevice: "eth0",
        devices: new Set(["eth0"]),
        lengths: new Set([100]),
      }),
    ).toEqual([{ reason: "NETFILTER_DROP", location: "nf_hook_slow+0x9b/0x100" }]);
  });

  it("filters the tracepoints to what can be ours, in ftrace's filter language", () => {
    expect(eventFilters({ lengths: [100, 114, 150, 164, 100], protocol: 2048 })).toEqual({
      drop: "protocol == 2048",
      net: "len == 100 || len == 114 || len == 150 || len == 164",
    });
  });
});

describe("nftables tracing", () => {
  it("marks our packet and its VXLAN carrier before anyone's chains, in inet and bridge", () => {
    const ruleset = markerRuleset("cnikit_trace_9", [
      { family: 4, src: "10.10.1.2", dst: "10.10.2.2", length: 100 },
      { family: 4, src: "198.18.0.1", dst: "198.18.0.2", length: 150 },
    ]);
    expect(ruleset).toContain("table inet cnikit_trace_9 {");
    expect(ruleset).toContain("table bridge cnikit_trace_9 {");
    expect(ruleset).toContain("type filter hook prerouting priority -500; policy accept;");
    expect(ruleset).toContain("ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip length 150 meta nftrace set 1");
    expect(markerRuleset("t", [{ family: 6, src: "fd00::1", dst: "fd00::2", length: 140 }])).toContain(
      "ip6 saddr fd00::1 ip6 daddr fd00::2 ip6 length 100 meta nftrace set 1",
    );
  });

  it("reads drop verdicts (rule with handle, policy) and leaves our own table's lines out", () => {
    const monitor = [
      'trace id df81fd5d inet cnikit_trace_9 pre packet: iif "ul0" ip saddr 198.18.0.1 ip daddr 198.18.0.2 udp dport 4789',
      "trace id df81fd5d inet cnikit_trace_9 pre rule ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip length 150 meta nftrace set 1 # handle 2 (verdict continue)",
      "trace id df81fd5d inet tfilter input rule udp dport 4789 drop # handle 2 (verdict drop)",
      "trace id 0a0a0a0a ip filter forward policy drop ",
      "trace id 0b0b0b0b inet tfilter input rule tcp dport 22 accept # handle 3 (verdict accept)",
    ].join("\n");
    expect(parseTraceDrops("lab-h2", monitor)).toEqual([
      {
        netns: "lab-h2",
        family: "inet",
        table: "tfilter",
        chain: "input",
        handle: 2,
        rule: "udp dport 4789 drop",
        verdict: "drop",
      },
      { netns: "lab-h2", family: "ip", table: "filter", chain: "forward", rule: "policy drop", verdict: "drop" },
    ]);
  });
});
