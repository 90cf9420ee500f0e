// Racing calls on one attachment, and what a DEL may remove. ADD, DEL and CHECK of one
// attachment serialize on its lock (src/plugin/attachment-lock.ts), so every
// interleaving ends "attached with its lease" or "nothing", never in between; losers
// answer a CNI code, never 999; a CHECK racing a DEL sees all of it or none. A DEL for a second container id on a netns + ifname
// that another attachment holds leaves that attachment's interface alone.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture, links, nsExec } from "../../netns-fixtures";
import { hostVethName } from "../../src/plugin/host-veth-name";
import { DEFAULT_LOCK_DIR, lockFilePath } from "../../src/plugin/lock-layout";
import { type HostCall, type HostExit, runInHost } from "./harness";
import { NETWORKS, type NetworkSpec } from "./networks";
import { netnsInode } from "./snapshot";

const ROUNDS = 20;
const fixture = new NetnsFixture();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-races-"));
let host: Netns;
let context: { dataDir: string; tag: string };

beforeAll(() => {
  host = fixture.underlay({ hosts: 1 })[0] as Netns;
  context = { dataDir, tag: fixture.prefix.slice(-4, -1) };
});

afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

interface Attachment {
  spec: NetworkSpec;
  containerId: string;
  netns: Netns;
}

function call(attachment: Attachment, command: HostCall["command"], extra: Partial<HostCall> = {}): Promise<HostExit> {
  return runInHost({
    hostNetns: host.path,
    plugin: attachment.spec.plugin,
    command,
    config: attachment.spec.config(context),
    containerId: attachment.containerId,
    containerNetns: attachment.netns.path,
    ...extra,
  });
}

/** The lease files of this container id in its network's data directory. */
function leasesOf(attachment: Attachment): string[] {
  const dir = path.join(dataDir, String(attachment.spec.config(context).name));
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((name) => {
    if (!/^[0-9.]+$|:/.test(name)) return false;
    return fs.readFileSync(path.join(dir, name), "utf8").split(/\r?\n/)[0] === attachment.containerId;
  });
}

function masqRules(containerId: string): number {
  const listed = nsExec(host, ["nft", "-j", "list", "ruleset"]);
  const items = (JSON.parse(listed.stdout) as { nftables: Array<{ rule?: { table: string; comment?: string } }> })
    .nftables;
  return items.filter((item) => item.rule?.table === "cnikit_masq" && item.rule.comment?.includes(containerId)).length;
}

interface EndState {
  leases: string[];
  containerIf: boolean;
  hostVeth: boolean;
  masqRules: number;
}

function endState(attachment: Attachment): EndState {
  return {
    leases: leasesOf(attachment),
    containerIf: links(attachment.netns).some((link) => link.ifname === "eth0"),
    hostVeth: links(host).some((link) => link.ifname === hostVethName(attachment.containerId, "eth0")),
    masqRules: attachment.spec.ipMasq ? masqRules(attachment.containerId) : 0,
  };
}

const NOTHING: EndState = { leases: [], containerIf: false, hostVeth: false, masqRules: 0 };

/** "attached with its lease" (the one the ADD answered) or "nothing": anything else is a half attachment. */
function expectWholeOrNothing(attachment: Attachment, add: HostExit, label: string): "attached" | "nothing" {
  const state = endState(attachment);
  if (state.containerIf || state.hostVeth || state.leases.length > 0 || state.masqRules > 0) {
    const addresses = ((add.json?.ips ?? []) as Array<{ address: string }>).map((ip) => ip.address.split("/")[0]);
    expect({ label, addStatus: add.status, state }).toEqual({
      label,
      addStatus: 0,
      state: {
        leases: [...addresses].sort(),
        containerIf: true,
        hostVeth: true,
        masqRules: attachment.spec.ipMasq ? addresses.length : 0,
      },
    });
    return "attached";
  }
  return "nothing";
}

/** No call of a race may answer 999 (an unexpected error); a loser answers a CNI code. */
function expectNoUnexpected(exits: HostExit[], label: string): void {
  const unexpected = exits.filter((exit) => exit.status !== 0 && (exit.json?.code === 999 || !exit.json));
  expect({ label, unexpected: unexpected.map((exit) => exit.stdout || exit.signal) }).toEqual({
    label,
    unexpected: [],
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Holds a lock file (flock) in one process until the returned function ends it by its pid. */
async function holdLock(file: string): Promise<() => void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const hold = `import fcntl, sys, time\nf = open(sys.argv[1], "a")\nfcntl.flock(f, fcntl.LOCK_EX)\nprint("held", flush=True)\ntime.sleep(600)`;
  const holder = spawn("python3", ["-c", hold, file], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => holder.stdout?.once("data", resolve));
  return () => {
    if (holder.pid !== undefined) process.kill(holder.pid, "SIGKILL");
  };
}

function bridgeLockFile(spec: NetworkSpec): string | undefined {
  if (spec.plugin === "veth") return undefined;
  const config = spec.config(context);
  const bridge = String(config.bridge ?? `vxbr${String(config.vni)}`);
  return lockFilePath(DEFAULT_LOCK_DIR, netnsInode(host.path), `bridge-${bridge}`);
}

async function raceRounds(spec: NetworkSpec): Promise<string[]> {
  const attachment: Attachment = { spec, containerId: `hzr${spec.key}`, netns: fixture.containerNetns() };
  const outcomes: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Racing ADD and DEL, the DEL a little later each round.
    const label = `${spec.key} round ${round}`;
    const addCall = call(attachment, "ADD");
    await sleep((round * 7) % 60);
    const [add, del] = await Promise.all([addCall, call(attachment, "DEL")]);
    expectNoUnexpected([add, del], `${label} race`);
    outcomes.push(expectWholeOrNothing(attachment, add, `${label} race`));
    expect((await call(attachment, "DEL")).status).toBe(0);
    expect({ label, state: endState(attachment) }).toEqual({ label, state: NOTHING });

    // DEL during ADD: the ADD is held inside (the bridge lock, after its lease) while the DEL comes.
    const lock = bridgeLockFile(spec);
    const release = lock ? await holdLock(lock) : () => undefined;
    let addDuring: Promise<HostExit>;
    let delDuring: Promise<HostExit>;
    try {
      addDuring = call(attachment, "ADD");
      await sleep(300);
      delDuring = call(attachment, "DEL");
      await sleep(200);
    } finally {
      release();
    }
    const [add2, del2] = await Promise.all([addDuring, delDuring]);
    expectNoUnexpected([add2, del2], `${label} DEL during ADD`);
    outcomes.push(expectWholeOrNothing(attachment, add2, `${label} DEL during ADD`));
    expect((await call(attachment, "DEL")).status).toBe(0);
    expect({ label, state: endState(attachment) }).toEqual({ label, state: NOTHING });

    // CHECK racing DEL: it sees the whole attachment (0) or none of it (a CNI code), never a 999.
    const added = await call(attachment, "ADD");
    expect(added.status).toBe(0);
    const checkConfig = { ...spec.config(context), prevResult: added.json };
    const [check, del3] = await Promise.all([
      call(attachment, "CHECK", { config: checkConfig }),
      sleep(round % 5).then(() => call(attachment, "DEL")),
    ]);
    expectNoUnexpected([check, del3], `${label} CHECK during DEL`);
    expect(del3.status).toBe(0);
    expect({ label, state: endState(attachment) }).toEqual({ label, state: NOTHING });
  }
  return outcomes;
}

describe(`racing ADD/DEL of one attachment, ${ROUNDS} rounds per network`, () => {
  it("every interleaving ends attached with its lease or with nothing; no 999", async () => {
    // Warm-up: the shared objects exist before the races.
    for (const spec of NETWORKS) {
      const warm: Attachment = { spec, containerId: `hzw${spec.key}`, netns: fixture.containerNetns() };
      expect((await call(warm, "ADD")).status).toBe(0);
      expect((await call(warm, "DEL")).status).toBe(0);
    }
    const outcomes = await Promise.all(NETWORKS.map((spec) => raceRounds(spec)));
    const counts = outcomes.flat().reduce<Record<string, number>>((acc, outcome) => {
      acc[outcome] = (acc[outcome] ?? 0) + 1;
      return acc;
    }, {});
    console.info(`race end states: ${JSON.stringify(counts)}`);
  }, 900_000);
});

describe("a DEL removes only its own attachment", () => {
  for (const spec of NETWORKS) {
    it(`${spec.key}: the DEL of a refused second container id leaves the first one's interface, lease and host veth`, async () => {
      const netns = fixture.containerNetns();
      const first: Attachment = { spec, containerId: "hzfirst", netns };
      const second: Attachment = { spec, containerId: "hzsecond", netns };
      const added = await call(first, "ADD");
      expect(added.status).toBe(0);
      const attached = endState(first);
      const refused = await call(second, "ADD");
      expect(refused.status).toBe(1);
      expect(refused.json?.code).toBe(4);
      expect((await call(second, "DEL")).status).toBe(0);
      expect(endState(first)).toEqual(attached);
      expect(attached.containerIf).toBe(true);
      // The first one's own DEL still removes it.
      expect((await call(first, "DEL")).status).toBe(0);
      expect(endState(first)).toEqual(NOTHING);
    });
  }

  it("an interface of an older version (no mark) is still deleted when it is our veth; a stranger's is not", async () => {
    const spec = NETWORKS.find((candidate) => candidate.key === "bra") as NetworkSpec;
    const netns = fixture.containerNetns();
    const old: Attachment = { spec, containerId: "hzold", netns };
    expect((await call(old, "ADD")).status).toBe(0);
    expect(nsExec(netns, ["ip", "link", "set", "eth0", "alias", ""]).status).toBe(0);
    expect((await call(old, "DEL")).status).toBe(0);
    expect(endState(old)).toEqual(NOTHING);
    // An eth0 nobody of ours made (a veth within the container): a DEL leaves it.
    expect(nsExec(netns, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "stranger0"]).status).toBe(0);
    expect((await call(old, "DEL")).status).toBe(0);
    expect(links(netns).some((link) => link.ifname === "eth0")).toBe(true);
  });
});
