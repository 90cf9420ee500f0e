// Runtimes call plugins in parallel: 250 ADDs at once on one host, mixed over every
// network of NETWORKS, then 250 DELs at once, several rounds. Every call succeeds,
// addresses are distinct, and afterwards the host is exactly as before the round.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture, links, nsExec } from "../../netns-fixtures";
import { type HostExit, failures, resultAddresses, runInHost } from "./harness";
import { NETWORKS, type NetworkSpec } from "./networks";
import { ATTACHMENT_LOCK_PREFIX, ATTACHMENT_LOCK_STRIPES } from "../../src/plugin/lock-layout";
import { type HostSnapshot, lockFilesOf, snapshotHost } from "./snapshot";

const ATTACHMENTS = 250;
const ROUNDS = 3;

interface Attachment {
  network: NetworkSpec;
  config: Record<string, unknown>;
  containerId: string;
  netns: Netns;
}

const fixture = new NetnsFixture();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-par-"));
let host: Netns;
let attachments: Attachment[] = [];
let baseline: HostSnapshot;
let baselineLocks: string[];
const roundFigures: string[] = [];

afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (roundFigures.length > 0)
      console.info(`parallel rounds (${ATTACHMENTS} ADDs + ${ATTACHMENTS} DELs each):\n${roundFigures.join("\n")}`);
  }
});

function call(attachment: Attachment, command: "ADD" | "DEL"): Promise<HostExit> {
  return runInHost({
    hostNetns: host.path,
    plugin: attachment.network.plugin,
    command,
    config: attachment.config,
    containerId: attachment.containerId,
    containerNetns: attachment.netns.path,
  });
}

function leaseCount(): number {
  return NETWORKS.reduce((count, network) => {
    const networkDir = path.join(dataDir, `hz-${network.key}`);
    if (!fs.existsSync(networkDir)) return count;
    return count + fs.readdirSync(networkDir).filter((name) => /^[0-9.]+$|:/.test(name)).length;
  }, 0);
}

function masqRuleCount(): number {
  const listed = nsExec(host, ["nft", "-j", "list", "ruleset"]);
  const items = (JSON.parse(listed.stdout) as { nftables: Array<{ rule?: { table: string } }> }).nftables;
  return items.filter((item) => item.rule?.table === "cnikit_masq").length;
}

beforeAll(async () => {
  host = fixture.underlay({ hosts: 1 })[0] as Netns;
  const context = { dataDir, tag: fixture.prefix.slice(-4, -1) };
  attachments = Array.from({ length: ATTACHMENTS }, (_, index) => {
    const network = NETWORKS[index % NETWORKS.length] as NetworkSpec;
    return { network, config: network.config(context), containerId: `hzpar-${index}`, netns: fixture.containerNetns() };
  });
  // Shared objects (bridges, gateway addresses, the nft table) stay after DEL by design:
  // make them once, so that the baseline holds them and each round must return to it.
  for (const attachment of attachments.slice(0, NETWORKS.length)) {
    const added = await call(attachment, "ADD");
    expect(failures([added])).toEqual([]);
    expect(failures([await call(attachment, "DEL")])).toEqual([]);
  }
  baseline = snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix });
  baselineLocks = lockFilesOf(host.path);
}, 300_000);

describe(`${ATTACHMENTS} parallel ADDs then ${ATTACHMENTS} parallel DELs on one host (${NETWORKS.map((n) => n.key).join(", ")})`, () => {
  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}: every call succeeds, addresses are distinct, nothing is left`, async () => {
      const addStart = performance.now();
      const added = await Promise.all(attachments.map((attachment) => call(attachment, "ADD")));
      const addMs = performance.now() - addStart;
      expect(failures(added)).toEqual([]);

      const addresses = added.flatMap(resultAddresses);
      expect(addresses.length).toBeGreaterThanOrEqual(ATTACHMENTS);
      expect(new Set(addresses).size).toBe(addresses.length);
      expect(leaseCount()).toBe(addresses.length);
      const hostEnds = added.flatMap((exit) =>
        ((exit.json?.interfaces ?? []) as Array<{ name: string; sandbox?: string }>).filter(
          (iface) => !iface.sandbox && !iface.name.startsWith("hzbr"),
        ),
      );
      const hostLinks = new Set(links(host).map((link) => link.ifname));
      expect(hostEnds.filter((iface) => !hostLinks.has(iface.name))).toEqual([]);
      const masqueraded = attachments.filter((attachment) => attachment.network.ipMasq).length;
      expect(masqRuleCount()).toBe(masqueraded);

      const delStart = performance.now();
      const deleted = await Promise.all(attachments.map((attachment) => call(attachment, "DEL")));
      const delMs = performance.now() - delStart;
      expect(failures(deleted)).toEqual([]);
      expect(snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix })).toEqual(baseline);
      // Attachment locks are a bounded set of stripe files (src/plugin/lock-layout.ts): it may fill
      // up to its bound, never beyond; every other lock file is one per shared object.
      const locks = lockFilesOf(host.path);
      const isStripe = (name: string) => name.includes(`-${ATTACHMENT_LOCK_PREFIX}`);
      expect(locks.filter((name) => !isStripe(name))).toEqual(baselineLocks.filter((name) => !isStripe(name)));
      expect(locks.filter(isStripe).length).toBeLessThanOrEqual(ATTACHMENT_LOCK_STRIPES);
      roundFigures.push(
        `  round ${round}: ${ATTACHMENTS} ADDs in ${(addMs / 1000).toFixed(1)} s, ${ATTACHMENTS} DELs in ${(delMs / 1000).toFixed(1)} s, ${addresses.length} addresses`,
      );
    }, 300_000);
  }
});
