// Runtimes call plugins in parallel: 50 ADDs at once on one host (IPv4, IPv6 and
// masquerade), then 50 DELs at once, must leave no link, lease or rule behind.
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, links } from "../../../netns-fixtures";
import { callVeth, hostVeths, leases, network, nftRuleComments, resultAddresses, testBed } from "./harness";

const PARALLEL = 50;
const { fixture, workDir: dataDir } = testBed("par");
const config = network({ dataDir, subnet: 30, ipv6: true, extra: { ipMasq: true } });
let host: Netns;
let containers: Netns[];

beforeAll(() => {
  host = fixture.hostNetns();
  containers = Array.from({ length: PARALLEL }, () => fixture.containerNetns());
});

/** Every nftables rule in the host (only ours are there). */
function ruleCount(): number {
  return nftRuleComments(host, "").length;
}

function callAll(command: "ADD" | "DEL") {
  return Promise.all(
    containers.map((ctr, index) => callVeth({ command, host, netns: ctr.path, containerId: `par-${index}`, config })),
  );
}

describe(`veth under ${PARALLEL} parallel invocations`, () => {
  it(`${PARALLEL} parallel ADDs each get their own addresses, link and rules`, async () => {
    const exits = await callAll("ADD");
    expect(exits.filter((exit) => exit.status !== 0).map((exit) => exit.stdout)).toEqual([]);
    const addresses = exits.flatMap((exit) => resultAddresses(exit.json ?? {}));
    expect(new Set(addresses).size).toBe(2 * PARALLEL);
    expect(hostVeths(host)).toHaveLength(PARALLEL);
    expect(leases(dataDir, "vnet30")).toHaveLength(2 * PARALLEL);
    expect(ruleCount()).toBe(2 * PARALLEL);
  });

  it(`${PARALLEL} parallel DELs leave no link, lease or rule`, async () => {
    const exits = await callAll("DEL");
    expect(exits.filter((exit) => exit.status !== 0).map((exit) => exit.stdout)).toEqual([]);
    expect(hostVeths(host)).toEqual([]);
    expect(containers.filter((ctr) => links(ctr).length !== 1).map((ctr) => ctr.name)).toEqual([]);
    expect(leases(dataDir, "vnet30")).toEqual([]);
    expect(ruleCount()).toBe(0);
  });
});
