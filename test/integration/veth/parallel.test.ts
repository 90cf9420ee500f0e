// Runtimes call plugins in parallel: 50 ADDs at once on one host (IPv4, IPv6 and
// masquerade), then 50 DELs at once, must leave no link, lease or rule behind.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, links, nsExec } from "../../../netns-fixtures";
import { callVeth, leases, network, resultAddresses } from "./harness";

const PARALLEL = 50;
const fixture = new NetnsFixture();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-veth-par-"));
const config = network({ dataDir, subnet: 30, ipv6: true, extra: { ipMasq: true } });
let host: Netns;
let containers: Netns[];

beforeAll(() => {
  host = fixture.hostNetns();
  containers = Array.from({ length: PARALLEL }, () => fixture.containerNetns());
});
afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

function hostVeths(): string[] {
  return links(host)
    .filter((link) => link.linkinfo?.info_kind === "veth")
    .map((link) => link.ifname);
}

function masqRuleCount(): number {
  const listed = nsExec(host, ["nft", "-j", "list", "ruleset"]);
  return (JSON.parse(listed.stdout || '{"nftables":[]}') as { nftables: Array<{ rule?: unknown }> }).nftables.filter((item) => item.rule).length;
}

function callAll(command: "ADD" | "DEL") {
  return Promise.all(containers.map((ctr, index) => callVeth({ command, host, netns: ctr.path, containerId: `par-${index}`, config })));
}

describe(`veth under ${PARALLEL} parallel invocations`, () => {
  it(`${PARALLEL} parallel ADDs each get their own addresses, link and rules`, async () => {
    const exits = await callAll("ADD");
    expect(exits.filter((exit) => exit.status !== 0).map((exit) => exit.stdout)).toEqual([]);
    const addresses = exits.flatMap((exit) => resultAddresses(exit.json ?? {}));
    expect(new Set(addresses).size).toBe(2 * PARALLEL);
    expect(hostVeths()).toHaveLength(PARALLEL);
    expect(leases(dataDir, "vnet30")).toHaveLength(2 * PARALLEL);
    expect(masqRuleCount()).toBe(2 * PARALLEL);
  });

  it(`${PARALLEL} parallel DELs leave no link, lease or rule`, async () => {
    const exits = await callAll("DEL");
    expect(exits.filter((exit) => exit.status !== 0).map((exit) => exit.stdout)).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(containers.filter((ctr) => links(ctr).length !== 1).map((ctr) => ctr.name)).toEqual([]);
    expect(leases(dataDir, "vnet30")).toEqual([]);
    expect(masqRuleCount()).toBe(0);
  });
});
