// The lean dump scans (scanNeighs, scanRoutes) on what the kernel sent for an l3 VTEP
// (captured by test/fixtures/netlink/capture-overlay.ts): each summary against iproute2's
// JSON view of the same device and against the full decoders, and the requests the scans
// send, byte for byte.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { NlmF, Nud, Rtm } from "../../../src/netlink/codec/constants";
import { decodeNeigh, scanNeighs, summarizeNeigh } from "../../../src/netlink/neigh";
import { decodeRoute, scanRoutes, summarizeRoute } from "../../../src/netlink/routes";
import type { Handle, RequestSpec } from "../../../src/netlink/handle";
import { datagrams, dumpMessages, fixtureDir } from "./fixtures";
import { splitMessages } from "../../../src/netlink/codec/header";

interface Captured {
  vtepIndex: number;
  fdb: string;
  neighbours: string;
  routes: string;
  ipNeighShowDev: string;
}
interface IpView {
  fdb: { mac: string; dst?: string; state: string; flags: string[] }[];
  neighbours: { dst: string; lladdr: string; state: string[] }[];
  routes: { dst: string; gateway?: string; flags: string[]; protocol?: string; scope?: string; table?: string }[];
}
const captured = JSON.parse(fs.readFileSync(path.join(fixtureDir, "scan-requests.json"), "utf8")) as Captured;
const ipView = JSON.parse(fs.readFileSync(path.join(fixtureDir, "scan.ip.json"), "utf8")) as IpView;
const vtep = captured.vtepIndex;

/** A Handle whose dump answers with the captured messages and records the request. */
function replayHandle(name: string, sent: RequestSpec[]): Handle {
  const messages = dumpMessages(name);
  const dump = (spec: RequestSpec) => {
    sent.push(spec);
    return messages;
  };
  return { dump } as unknown as Handle;
}

/** The payload of the one request a scan sent, as captured (after its 16-byte header). */
const payloadOf = (hex: string) => hex.slice(32);

describe("scanNeighs on a VTEP's FDB", () => {
  const summaries = dumpMessages("scan-fdb").map((msg) => summarizeNeigh(msg.payload, true, vtep));

  it("the kernel filtered by device: every entry it sent is the VTEP's, as bridge fdb show dev lists them", () => {
    expect(summaries.every((summary) => summary !== undefined)).toBe(true);
    const view = (list: { mac?: string; dst?: string }[]) => list.map((entry) => `${entry.mac} ${entry.dst}`).sort();
    expect(view(summaries.map((summary) => ({ mac: summary?.lladdr, dst: summary?.dst })))).toEqual(view(ipView.fdb));
    expect(summaries).toHaveLength(3);
  });

  it("agrees with decodeNeigh field by field", () => {
    for (const msg of dumpMessages("scan-fdb")) {
      const full = decodeNeigh(msg.payload);
      expect(summarizeNeigh(msg.payload, true, vtep)).toEqual({
        state: full.state,
        flags: full.flags,
        dst: full.dst,
        lladdr: full.lladdr,
        master: full.master,
      });
    }
  });

  it("asks as a legacy ifinfomsg with the VTEP's index: the form a socket without strict checking gets filtered", () => {
    const sent: RequestSpec[] = [];
    scanNeighs(replayHandle("scan-fdb", sent), "bridge", vtep);
    expect(sent[0]?.type).toBe(Rtm.GETNEIGH);
    expect(sent[0]?.payload.toString("hex")).toBe(payloadOf(captured.fdb));
    // ifi_family AF_BRIDGE, ifi_index = the VTEP, 16 bytes (not 12: that would be an unfiltered ndmsg).
    expect(sent[0]?.payload).toEqual(Buffer.from([7, 0, 0, 0, vtep, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  });
});

describe("scanNeighs on a VTEP's neighbours", () => {
  const messages = dumpMessages("scan-neighs");

  it("lists exactly what ip neigh show dev lists, states included", () => {
    // IPv6 multicast neighbours (ff02::, 33:33:...) come and go on their own between two reads.
    const unicast = (dst: string | undefined) => dst !== undefined && !dst.startsWith("ff02:");
    const summaries = messages.map((msg) => summarizeNeigh(msg.payload, false, vtep)).filter((s) => unicast(s?.dst));
    const view = summaries.map((summary) => {
      const permanent = ((summary?.state ?? 0) & Nud.PERMANENT) !== 0;
      return `${summary?.dst} ${summary?.lladdr} ${permanent ? "PERMANENT" : "other"}`;
    });
    expect(view.sort()).toEqual(
      ipView.neighbours
        .filter((entry) => unicast(entry.dst))
        .map((entry) => `${entry.dst} ${entry.lladdr} ${entry.state.includes("PERMANENT") ? "PERMANENT" : "other"}`)
        .sort(),
    );
  });

  it("agrees with decodeNeigh, and leaves out entries of other devices and of the FDB", () => {
    for (const msg of messages) {
      const full = decodeNeigh(msg.payload);
      expect(summarizeNeigh(msg.payload, false, vtep)).toMatchObject({
        dst: full.dst,
        lladdr: full.lladdr,
        state: full.state,
      });
      expect(summarizeNeigh(msg.payload, false, vtep + 1)).toBeUndefined();
      expect(summarizeNeigh(msg.payload, true, vtep)).toBeUndefined();
    }
  });

  it("sends what ip neigh show dev sends, byte for byte", () => {
    const sent: RequestSpec[] = [];
    scanNeighs(replayHandle("scan-neighs", sent), undefined, vtep);
    expect(sent[0]?.payload.toString("hex")).toBe(captured.ipNeighShowDev);
    expect(payloadOf(captured.neighbours)).toBe(captured.ipNeighShowDev);
  });
});

describe("scanRoutes", () => {
  const messages = dumpMessages("scan-routes");

  it("keeps the VTEP's main-table routes, as ip route show dev lists them", () => {
    const kept = messages.flatMap((msg) => summarizeRoute(msg.payload, vtep) ?? []);
    const view = (list: { dst: string; gw?: string | undefined; onlink: boolean }[]) =>
      list.map((route) => `${route.dst} ${route.gw ?? "-"} ${route.onlink}`).sort();
    // ip prints a host route without its /128 and leaves out the table-100 route.
    const ipRoutes = ipView.routes.map((route) => ({
      dst: route.dst.includes("/") ? route.dst : `${route.dst}/${route.dst.includes(":") ? 128 : 32}`,
      gw: route.gateway,
      onlink: route.flags.includes("onlink"),
    }));
    expect(view(kept)).toEqual(view(ipRoutes));
    expect(kept.find((route) => route.dst === "fd10:0:0:2::/64")).toMatchObject({ gw: "fd10:0:0:2::", onlink: true });
  });

  it("agrees with decodeRoute on every route of the dump (every device, every table)", () => {
    for (const msg of messages) {
      const full = decodeRoute(msg.payload);
      const summary = summarizeRoute(msg.payload, full.oif ?? -1);
      if (full.table !== 254 || full.oif === undefined) {
        expect(summary).toBeUndefined();
        continue;
      }
      expect(summary).toEqual({
        dst: full.dst,
        gw: full.gw,
        protocol: full.protocol,
        type: full.type,
        onlink: full.onlink,
      });
    }
  });

  it("asks for every route (a dump is filtered by the kernel only with strict checking)", () => {
    const sent: RequestSpec[] = [];
    scanRoutes(replayHandle("scan-routes", sent), vtep);
    expect(sent[0]?.payload.toString("hex")).toBe(payloadOf(captured.routes));
    const header = Buffer.from(captured.routes, "hex");
    expect(header.readUInt16LE(6) & NlmF.DUMP).toBe(NlmF.DUMP);
  });

  it("refuses a truncated attribute instead of reading past it", () => {
    const [first] = splitMessages(datagrams("scan-routes")[0] ?? Buffer.alloc(0));
    const payload = Buffer.from(first?.payload ?? Buffer.alloc(0));
    payload.writeUInt16LE(payload.length, 12); // the first attribute claims the rest and more
    expect(() => summarizeRoute(payload, vtep)).toThrow(/malformed route attribute/);
  });
});
