// `cnikit lab events` turns rtnetlink notifications into lines; notifications carry the
// same messages as dumps, so the kernel's golden dumps (test/fixtures/netlink) are
// decoded here and judged against what `ip -j` said about the same namespace.
import { describe, expect, it } from "vitest";
import { type LabEvent, type LinkNames, eventFields, trackLinkNames } from "../../../src/cli/events/event";
import { renderEvent } from "../../../src/cli/events/render";
import { Rtm } from "../../../src/netlink/codec/constants";
import { decodeChange, type RtnlChange } from "../../../src/netlink/monitor";
import { dumpMessages, ipJson } from "../netlink/fixtures";

interface IpLink {
  ifname: string;
  addr_info?: { local: string; prefixlen: number; scope: string }[];
}
interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
}

function changes(fixture: string, type: number): RtnlChange[] {
  return dumpMessages(fixture).flatMap((message) => {
    const change = decodeChange(type, message.payload);
    return change ? [change] : [];
  });
}

function linkNames(): LinkNames {
  const names: LinkNames = new Map();
  for (const change of changes("links", Rtm.NEWLINK)) trackLinkNames(change, names);
  return names;
}

const event = (fields: ReturnType<typeof eventFields>): LabEvent => ({
  time: "2024-01-01T10:20:30.456Z",
  node: "h1/c1",
  netns: "lab-h1-c1",
  ...fields,
});

describe("lab events: rtnetlink changes as events", () => {
  it("names every address and its interface as ip -j addr does", () => {
    const names = linkNames();
    const ours = changes("addrs", Rtm.NEWADDR).map((change) => eventFields(change, names));
    const theirs = ipJson<IpLink[]>("addrs").flatMap((link) =>
      (link.addr_info ?? []).map((info) => ({
        kind: "addr",
        action: "new",
        ifname: link.ifname,
        local: `${info.local}/${info.prefixlen}`,
        scope: info.scope,
      })),
    );
    // ip groups addresses by link, the kernel dumps them by family: compare as sets.
    const sorted = <T>(list: T[]): T[] => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(
      sorted(ours.map(({ kind, action, ifname, local, scope }) => ({ kind, action, ifname, local, scope }))),
    ).toEqual(sorted(theirs));
  });

  it("gives routes of every table their type, destination, gateway, device and table", () => {
    const names = linkNames();
    const ours = changes("routes", Rtm.NEWROUTE)
      .map((change) => eventFields(change, names))
      .filter((fields) => !String(fields.dst).includes(":"))
      .map((fields) => ({
        type: fields.type,
        dst: String(fields.dst).replace(/\/32$/, ""),
        gateway: fields.gateway,
        dev: fields.ifname,
        table: fields.table,
      }));
    const theirs = ipJson<{ v4: IpRoute[] }>("routes").v4.map((route) => ({
      type: route.type ?? "unicast",
      dst: route.dst,
      gateway: route.gateway,
      dev: route.dev,
      table: route.table ?? "main",
    }));
    expect(ours).toEqual(theirs);
  });

  it("tells FDB entries from neighbours and names their ports and bridges", () => {
    const names = linkNames();
    const fdb = changes("fdb", Rtm.NEWNEIGH).map((change) => eventFields(change, names));
    expect(fdb.every((fields) => fields.kind === "fdb")).toBe(true);
    const theirs = ipJson<{ mac: string; ifname: string; master?: string; state: string }[]>("fdb");
    expect(fdb.map(({ mac, ifname, master, state }) => ({ mac, ifname, master, state }))).toEqual(
      theirs.map(({ mac, ifname, master, state }) => ({ mac, ifname, master, state })),
    );
    // `ip neigh show` leaves out NOARP entries (multicast mappings); so do we here.
    const neighs = changes("neighs", Rtm.NEWNEIGH)
      .map((change) => eventFields(change, names))
      .filter((fields) => fields.state !== "NOARP");
    expect(neighs).toEqual([
      { kind: "neigh", action: "new", ifname: "br0", dst: "10.1.0.9", lladdr: "02:00:00:00:00:09", state: "PERMANENT" },
    ]);
  });

  it("keeps a removed link's name for the deletions that follow it", () => {
    const names = linkNames();
    const [link] = changes("links", Rtm.DELLINK).filter(
      (change) => change.kind === "link" && change.link.name === "vt0",
    );
    expect(link).toBeDefined();
    trackLinkNames(link as RtnlChange, names);
    expect(eventFields(link as RtnlChange, names)).toMatchObject({ kind: "link", action: "del", ifname: "vt0" });
    const [fdbEntry] = changes("fdb", Rtm.DELNEIGH);
    expect(eventFields(fdbEntry as RtnlChange, names)).toMatchObject({ kind: "fdb", action: "del", ifname: "vt1" });
  });

  it("renders one line per event", () => {
    const time = new Date("2024-01-01T10:20:30.456Z");
    const clock = `${String(time.getHours()).padStart(2, "0")}:20:30.456`;
    expect(
      renderEvent(
        event({ kind: "addr", action: "new", ifname: "eth0", local: "10.10.1.3/16", family: "inet", scope: "global" }),
        6,
      ),
    ).toBe(`${clock} h1/c1  addr  new 10.10.1.3/16 dev eth0 scope global`);
    expect(
      renderEvent(
        event({
          kind: "route",
          action: "new",
          type: "unicast",
          dst: "default",
          gateway: "10.10.1.1",
          ifname: "eth0",
          table: "main",
          protocol: "boot",
        }),
        5,
      ),
    ).toBe(`${clock} h1/c1 route new default via 10.10.1.1 dev eth0 proto boot`);
    expect(
      renderEvent(
        event({
          kind: "fdb",
          action: "del",
          ifname: "vx42",
          mac: "00:00:00:00:00:00",
          dst: "198.18.0.2",
          self: true,
          state: "permanent",
        }),
        5,
      ),
    ).toBe(`${clock} h1/c1 fdb   del 00:00:00:00:00:00 dev vx42 dst 198.18.0.2 self permanent`);
    expect(renderEvent(event({ kind: "netns", action: "new" }), 5)).toBe(`${clock} h1/c1 netns new`);
  });
});
