// One nf_tables rule, `oifname "IF" queue num N bypass`, sent over nfnetlink ourselves.
// The nft tool can only express `queue` with the kernel's nft_queue expression, and some
// kernels (this project's CI machine among them) build NFQUEUE only as the xtables
// target, which nf_tables reaches through nft_compat. nft shows such a rule as usual
// (`... queue num N bypass`) and `nft -j` as {"xt": {"type": "target", "name": "NFQUEUE"}}.
import { AttrWriter } from "./codec/attrs";
import { NlmF } from "./codec/constants";
import { NfnlSocket, NfnlSubsys, encodeNfgen, nfnlType } from "./nfnetlink";

const NFT_MSG_NEWRULE = 6;
export const NFPROTO_IPV4 = 2;
const NftaRule = { TABLE: 1, CHAIN: 2, EXPRESSIONS: 4, COMPAT: 5, USERDATA: 7 } as const;
const NFTA_LIST_ELEM = 1;
const NftaExpr = { NAME: 1, DATA: 2 } as const;
const NftaMeta = { DREG: 1, KEY: 2 } as const;
const NftaCmp = { SREG: 1, OP: 2, DATA: 3 } as const;
const NFTA_DATA_VALUE = 1;
const NftaTarget = { NAME: 1, REV: 2, INFO: 3 } as const;
const NftaRuleCompat = { PROTO: 1, FLAGS: 2 } as const;
const NFT_META_OIFNAME = 7;
const NFT_REG_1 = 1;
const NFT_CMP_EQ = 0;
const IFNAMSIZ = 16;
/** xt_NFQUEUE revision 3: struct xt_NFQ_info_v3 {u16 queuenum, queues_total, flags}. */
const NFQUEUE_REVISION = 3;
const NFQ_FLAG_BYPASS = 0x01;
/** libnftnl's NFTNL_UDATA_RULE_COMMENT: how nft stores a rule's comment. */
const UDATA_RULE_COMMENT = 0;

export interface QueueRule {
  /** Path of the namespace whose nf_tables gets the rule. */
  netns: string;
  /** An existing table and chain of family ip. */
  table: string;
  chain: string;
  /** Packets leaving through this interface go to the queue. */
  outInterface: string;
  queue: number;
  /** With no listener on the queue, let packets through instead of dropping them. */
  bypass: boolean;
  comment?: string;
}

function be32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function expression(list: AttrWriter, name: string, build: (data: AttrWriter) => void): void {
  list.nest(NFTA_LIST_ELEM, (elem) => elem.string(NftaExpr.NAME, name).nest(NftaExpr.DATA, build));
}

/** The NFT_MSG_NEWRULE payload (nfgenmsg + attributes) that appends the rule to its chain. */
export function queueRulePayload(rule: Omit<QueueRule, "netns">): Buffer {
  if (Buffer.byteLength(rule.outInterface) >= IFNAMSIZ)
    throw new RangeError(`interface name too long: ${rule.outInterface}`);
  const ifname = Buffer.alloc(IFNAMSIZ);
  ifname.write(rule.outInterface);
  const info = Buffer.alloc(8);
  info.writeUInt16LE(rule.queue, 0);
  info.writeUInt16LE(1, 2);
  info.writeUInt16LE(rule.bypass ? NFQ_FLAG_BYPASS : 0, 4);
  const attrs = new AttrWriter()
    .string(NftaRule.TABLE, rule.table)
    .string(NftaRule.CHAIN, rule.chain)
    .nest(NftaRule.EXPRESSIONS, (list) => {
      expression(list, "meta", (data) =>
        data.bytes(NftaMeta.KEY, be32(NFT_META_OIFNAME)).bytes(NftaMeta.DREG, be32(NFT_REG_1)),
      );
      expression(list, "cmp", (data) =>
        data
          .bytes(NftaCmp.SREG, be32(NFT_REG_1))
          .bytes(NftaCmp.OP, be32(NFT_CMP_EQ))
          .nest(NftaCmp.DATA, (value) => value.bytes(NFTA_DATA_VALUE, ifname)),
      );
      expression(list, "target", (data) =>
        data
          .string(NftaTarget.NAME, "NFQUEUE")
          .bytes(NftaTarget.REV, be32(NFQUEUE_REVISION))
          .bytes(NftaTarget.INFO, info),
      );
    })
    .nest(NftaRule.COMPAT, (compat) =>
      compat.bytes(NftaRuleCompat.PROTO, be32(0)).bytes(NftaRuleCompat.FLAGS, be32(0)),
    );
  if (rule.comment) {
    const text = Buffer.from(`${rule.comment}\0`);
    if (text.length > 128) throw new RangeError("an nftables comment holds at most 127 bytes");
    attrs.bytes(NftaRule.USERDATA, Buffer.concat([Buffer.from([UDATA_RULE_COMMENT, text.length]), text]));
  }
  return Buffer.concat([encodeNfgen(NFPROTO_IPV4, 0), attrs.toBuffer()]);
}

/** Appends the rule in its own transaction. */
export function appendQueueRule(rule: QueueRule): void {
  const socket = NfnlSocket.at(rule.netns);
  try {
    socket.batch(
      [
        {
          type: nfnlType(NfnlSubsys.NFTABLES, NFT_MSG_NEWRULE),
          flags: NlmF.CREATE | NlmF.APPEND,
          payload: queueRulePayload(rule),
        },
      ],
      `add nftables rule "oifname ${rule.outInterface} queue num ${rule.queue}" to ip ${rule.table} ${rule.chain}`,
    );
  } finally {
    socket.close();
  }
}
