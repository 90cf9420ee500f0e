// The NFQUEUE rule against the one iptables-nft sent (captured by capture-impair.ts): the
// same meta and xtables target expressions; and the nfnetlink_queue messages we parse
// and send, against bytes laid out by hand from linux/netfilter/nfnetlink_queue.h.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AttrReader } from "../../../src/netlink/codec/attrs";
import { encodeMessage, splitMessages } from "../../../src/netlink/codec/header";
import { NFGENMSG_LEN } from "../../../src/netlink/nfnetlink";
import { Verdict, decodeQueuedPacket, verdictMessage } from "../../../src/netlink/nfqueue";
import { queueRulePayload } from "../../../src/netlink/nft-queue-rule";
import { fixtureDir } from "./fixtures";

const RULE_EXPRESSIONS = 4;
const RULE_COMPAT = 5;

/** Each expression of a NEWRULE payload by name, as its raw NFTA_LIST_ELEM payload. */
function expressions(payload: Buffer): Map<string, Buffer> {
  const rule = new AttrReader(payload.subarray(NFGENMSG_LEN));
  const list = rule.nested(RULE_EXPRESSIONS);
  if (!list) throw new Error("no NFTA_RULE_EXPRESSIONS");
  return new Map(list.list.map((elem) => [new AttrReader(elem.payload).str(1) ?? "", elem.payload]));
}

describe("the NFQUEUE rule", () => {
  const captured = JSON.parse(fs.readFileSync(path.join(fixtureDir, "nfqueue-rule.json"), "utf8")) as {
    argv: string[];
    payload: string;
  };
  const theirs = Buffer.from(captured.payload, "hex");
  const ours = queueRulePayload({ table: "mangle", chain: "POSTROUTING", outInterface: "va", queue: 3, bypass: true });

  it(`has the target and meta expressions of \`${captured.argv.join(" ")}\``, () => {
    const theirExpressions = expressions(theirs);
    const ourExpressions = expressions(ours);
    expect(ourExpressions.get("target")?.toString("hex")).toBe(theirExpressions.get("target")?.toString("hex"));
    expect(ourExpressions.get("meta")?.toString("hex")).toBe(theirExpressions.get("meta")?.toString("hex"));
    expect(new AttrReader(ours.subarray(NFGENMSG_LEN)).get(RULE_COMPAT)?.toString("hex")).toBe(
      new AttrReader(theirs.subarray(NFGENMSG_LEN)).get(RULE_COMPAT)?.toString("hex"),
    );
    // Same family (ip), table and chain attributes.
    expect(ours.subarray(0, 32).toString("hex")).toBe(theirs.subarray(0, 32).toString("hex"));
  });

  it("matches the whole interface name, as nft's oifname does (16 bytes, NUL-padded)", () => {
    const cmp = new AttrReader(expressions(ours).get("cmp") as Buffer).nested(2);
    expect(cmp?.nested(3)?.get(1)?.toString("hex")).toBe(`${Buffer.from("va").toString("hex")}${"00".repeat(14)}`);
  });

  it("carries its comment the way nft stores one", () => {
    const withComment = queueRulePayload({
      table: "t",
      chain: "c",
      outInterface: "ul0",
      queue: 1,
      bypass: true,
      comment: "cnikit impair ul0 queue",
    });
    const userdata = new AttrReader(withComment.subarray(NFGENMSG_LEN)).get(7) as Buffer;
    expect(userdata.readUInt8(0)).toBe(0);
    expect(userdata.readUInt8(1)).toBe("cnikit impair ul0 queue".length + 1);
    expect(userdata.toString("utf8", 2, userdata.length - 1)).toBe("cnikit impair ul0 queue");
  });
});

describe("nfnetlink_queue messages", () => {
  it("reads a queued packet: queue, id, protocol, hook, payload", () => {
    const packet = Buffer.from("4500001c0001000040117ccdc612000ac6120014", "hex");
    // nfgenmsg {AF_UNSPEC, v0, res_id 7}, NFQA_PACKET_HDR {id 42, 0x0800, hook 4}, NFQA_IFINDEX_OUTDEV 3, NFQA_PAYLOAD.
    const payload = Buffer.concat([
      Buffer.from("00000007", "hex"),
      Buffer.from("0b0001000000002a08000400", "hex"),
      Buffer.from("0800060000000003", "hex"),
      Buffer.from("18000a00", "hex"),
      packet,
    ]);
    const [msg] = splitMessages(encodeMessage({ type: 0x0300, flags: 0, seq: 0, pid: 0 }, payload));
    expect(decodeQueuedPacket(msg as never)).toEqual({
      queue: 7,
      id: 42,
      hwProtocol: 0x0800,
      hook: 4,
      outIndex: 3,
      payload: packet,
    });
  });

  it("writes a verdict, with a replacement packet when given one", () => {
    const plain = verdictMessage(7, 42, Verdict.ACCEPT);
    expect(plain.type).toBe(0x0301);
    expect(plain.payload.toString("hex")).toBe("00000007" + "0c000200" + "00000001" + "0000002a");
    const mangled = verdictMessage(7, 42, Verdict.ACCEPT, Buffer.from([1, 2, 3]));
    expect(mangled.payload.subarray(16).toString("hex")).toBe("07000a00010203" + "00");
  });
});
