// The verdict of `cnikit trace`: the path annotated with where the watchers saw the
// packet and the lab's impairments, then delivered, or where it stopped and why (an
// nftables rule, an impairment, the state's break, the kernel's drop reason, ICMP).
import { describe, expect, it } from "vitest";
import { annotate, decide } from "../../../src/cli/trace/verdict";
import type { LiveResult, NftDrop, PathImpairment, PathStep, Sighting, TracePath } from "../../../src/cli/trace/types";

const step = (fields: Partial<PathStep> & Pick<PathStep, "netns" | "kind">): PathStep => ({
  node: fields.netns,
  detail: "-",
  status: "ok",
  command: `cmd ${fields.kind}`,
  ...fields,
});

/** c1 -> h1 (bridge, VTEP, underlay) -> h2 -> c2, cut short: enough steps for every kind of verdict. */
function path(change: (steps: PathStep[]) => void = () => undefined): TracePath {
  const steps = [
    step({ netns: "c1", kind: "route" }),
    step({ netns: "c1", kind: "egress", ifName: "eth0" }),
    step({ netns: "h1", kind: "ingress", ifName: "vethA" }),
    step({ netns: "h1", kind: "egress", ifName: "vx42" }),
    step({ netns: "h1", kind: "vtep", ifName: "vx42" }),
    step({ netns: "h1", kind: "egress", ifName: "ul0", outer: true }),
    step({ netns: "h2", kind: "ingress", ifName: "ul0", outer: true }),
    step({ netns: "h2", kind: "route", outer: true }),
    step({ netns: "h2", kind: "decap", ifName: "vx42" }),
    step({ netns: "c2", kind: "ingress", ifName: "eth0" }),
    step({ netns: "c2", kind: "deliver" }),
  ];
  change(steps);
  return { steps, reachesDestination: true, tunnels: [] };
}

const seen = (netns: string, ifName: string, direction: "in" | "out", time: number, outer = false): Sighting => ({
  netns,
  ifName,
  direction,
  time,
  outer,
});
const live = (fields: Partial<LiveResult>): LiveResult => ({
  delivered: false,
  sightings: [],
  icmp: [],
  kernelDrops: [],
  nftDrops: [],
  notes: [],
  ...fields,
});
/** A rule's drop as nft's trace tells it; `table` is "<family> <name>". */
const nftDrop = (netns: string, table: string, chain: string, handle: number, rule: string): NftDrop => {
  const [family = "", name = ""] = table.split(" ");
  return { netns, family, table: name, chain, handle, rule, verdict: "drop" };
};
/** The lab's loss of every packet leaving h1 on the underlay, by its nftables table. */
const totalLoss: PathImpairment = {
  target: "h1",
  netns: "h1",
  ifName: "ul0",
  what: "loss 100%",
  mechanism: "nftables ip cnikit_impair",
  total: true,
  lossy: true,
};
const upToVtep = [
  seen("c1", "eth0", "out", 100),
  seen("h1", "vethA", "in", 100.00001),
  seen("h1", "vx42", "out", 100.00003),
];

describe("annotate", () => {
  it("puts each sighting on its step, by namespace, interface, direction and layer, in ms after the first", () => {
    const sightings = [
      ...upToVtep,
      seen("h1", "ul0", "out", 100.00005, true),
      seen("h2", "ul0", "in", 100.00006, true),
      seen("h2", "ul0", "in", 100.00007, false),
    ];
    const steps = annotate(path(), live({ sightings }), []);
    expect(steps.map((each) => each.seenAtMs)).toEqual([
      undefined,
      0,
      0.01,
      0.03,
      undefined,
      0.05,
      0.06,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(steps.map((each) => each.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("puts a lab impairment on the link end it acts on", () => {
    const steps = annotate(path(), undefined, [totalLoss]);
    expect(steps[5]?.impairments).toEqual([totalLoss]);
    expect(steps.filter((each) => each.impairments)).toHaveLength(1);
  });
});

describe("decide", () => {
  it("delivered: the time to the last hop seen", () => {
    const sightings = [...upToVtep, seen("c2", "eth0", "in", 100.0002)];
    const verdict = decide(annotate(path(), live({ sightings, delivered: true }), []), live({ delivered: true }), 4);
    expect(verdict).toEqual({
      delivered: true,
      totalMs: 0.2,
      lastSeen: { step: 10, node: "c2", kind: "ingress", ifName: "eth0", atMs: 0.2 },
      reasons: [],
    });
  });

  it("lost at a break after the last sighting: that break first, then the kernel's drop reason", () => {
    const steps = annotate(
      path((all) =>
        Object.assign(all[4] as PathStep, { status: "break", fault: "no-fdb-entry", reason: "vx42 has no FDB entry" }),
      ),
      live({ sightings: upToVtep }),
      [],
    );
    const verdict = decide(
      steps,
      live({
        kernelDrops: [{ reason: "NO_TX_TARGET", location: "vxlan_xmit+0xdb0/0x1630", lastDevice: "vx42", node: "h1" }],
      }),
      4,
    );
    expect(verdict.lastSeen).toMatchObject({ step: 4, ifName: "vx42" });
    expect(verdict.stoppedAt).toMatchObject({ step: 5, kind: "vtep" });
    expect(verdict.reasons).toEqual([
      "h1 vtep vx42: vx42 has no FDB entry (cmd vtep)",
      "the kernel dropped it after h1:vx42: NO_TX_TARGET at vxlan_xmit+0xdb0/0x1630 (skb:kfree_skb)",
    ]);
  });

  it("an nftables drop names table, chain and handle, in the namespace it happened", () => {
    const sightings = [
      ...upToVtep,
      seen("h1", "ul0", "out", 100.00005, true),
      seen("h2", "ul0", "in", 100.00006, true),
    ];
    const verdict = decide(
      annotate(path(), live({ sightings }), []),
      live({
        nftDrops: [nftDrop("h2", "inet filter", "input", 7, "udp dport 4789 drop")],
      }),
      4,
    );
    expect(verdict.stoppedAt).toMatchObject({ step: 8, node: "h2", kind: "route" });
    expect(verdict.reasons).toEqual([
      "nftables in h2 dropped it: table inet filter, chain input, handle 7: udp dport 4789 drop (verdict drop)",
    ]);
  });

  it("a drop by the lab's impairment table is told as the impairment, with the rule", () => {
    const steps = annotate(path(), live({ sightings: upToVtep }), [totalLoss]);
    const verdict = decide(
      steps,
      live({
        nftDrops: [nftDrop("h1", "ip cnikit_impair", "postrouting", 3, 'oifname "ul0" drop')],
      }),
      4,
    );
    expect(verdict.stoppedAt).toMatchObject({ step: 6, ifName: "ul0" });
    expect(verdict.reasons).toEqual([
      'lab impairment on h1 (h1:ul0): loss 100%, carried by nftables: table ip cnikit_impair, chain postrouting, handle 3: oifname "ul0" drop (verdict drop)',
    ]);
  });

  it("without nftables tracing, the impairment alone; a partial loss behind a break is only a suspect", () => {
    expect(decide(annotate(path(), live({ sightings: upToVtep }), [totalLoss]), live({}), 4).reasons).toEqual([
      "lab impairment on h1 (h1:ul0): loss 100%, by nftables ip cnikit_impair",
    ]);
    const some: PathImpairment = { ...totalLoss, what: "loss 10%", total: false };
    const broken = path((all) =>
      Object.assign(all[9] as PathStep, { status: "break", fault: "link-down", reason: "eth0 is down" }),
    );
    const verdict = decide(annotate(broken, live({ sightings: upToVtep }), [some]), live({}), 4);
    expect(verdict.stoppedAt).toMatchObject({ step: 10 });
    expect(verdict.reasons).toEqual([
      "c2 ingress eth0: eth0 is down (cmd ingress)",
      "lab impairment on h1 (h1:ul0): loss 10%, by nftables ip cnikit_impair",
    ]);
  });

  it("refused at the source: said once, and a break of another kind further on too", () => {
    const steps = annotate(
      path((all) => {
        Object.assign(all[0] as PathStep, { status: "break", fault: "mtu", reason: "learned path MTU 1350" });
        Object.assign(all[5] as PathStep, { status: "break", fault: "mtu", reason: "ul0 MTU 1400", assumed: true });
      }),
      undefined,
      [],
    );
    const verdict = decide(steps, live({ notSent: "not sent: EMSGSIZE" }), 4);
    expect(verdict.stoppedAt).toMatchObject({ step: 1 });
    expect(verdict.reasons).toEqual(["not sent: EMSGSIZE", "further on, h1 egress ul0: ul0 MTU 1400 (cmd egress)"]);
  });

  it("ICMP errors about it are grouped, with every place they were seen", () => {
    const icmp = [
      { netns: "c1", ifName: "eth0", from: "10.0.1.3", type: 3, code: 4, mtu: 1350, time: 2 },
      { netns: "h1", ifName: "vx42", from: "10.0.1.3", type: 3, code: 4, mtu: 1350, time: 1 },
    ];
    const verdict = decide(annotate(path(), live({ sightings: upToVtep }), []), live({ icmp }), 4);
    expect(verdict.reasons).toEqual(["ICMP fragmentation needed (mtu 1350) from 10.0.1.3, seen at h1:vx42, c1:eth0"]);
  });

  it("seen nowhere and nothing known: says so", () => {
    expect(decide(annotate(path(), live({}), []), live({}), 4)).toMatchObject({
      delivered: false,
      stoppedAt: { step: 1 },
      reasons: ["it was seen on no interface of the path"],
    });
  });
});
