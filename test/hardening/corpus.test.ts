// Hostile input: every case of test/hardening/corpus/ answers a CNI error with the
// expected code and a message naming the field, exits 1, and leaves the host exactly
// as it was (links, addresses, routes, FDB, neighbours, nftables, the data directory
// and this host's files under /run/cnikit, contents included).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distBin } from "../helpers/exec";
import { type Netns, NetnsFixture } from "../../netns-fixtures";
import { type HostCall, failures, runInHost } from "./harness";
import { snapshotHost } from "./snapshot";

interface CorpusCase {
  description: string;
  plugin: string;
  command: HostCall["command"];
  env: Record<string, string | null>;
  stdin: string;
  /** A valid config ADDed before the case (and DELed after); its result fills "@PREVRESULT@". */
  setupStdin?: string;
  prevResultPatch?: Array<{ path: Array<string | number>; value: unknown }>;
  expectedCode: number;
  expectedMessagePattern: string;
}

const corpusDir = path.join(__dirname, "corpus");
const files = fs
  .readdirSync(corpusDir)
  .filter((file) => file.endsWith(".json"))
  .sort();
const cases = files.map(
  (file) => [file, JSON.parse(fs.readFileSync(path.join(corpusDir, file), "utf8")) as CorpusCase] as const,
);

const fixture = new NetnsFixture();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-corpus-"));
const dataDir = path.join(scratch, "data");
const placeholders: Record<string, string> = {};
let host: Netns;
let container: Netns;
const containerId = "hzbad";

afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

beforeAll(async () => {
  host = fixture.underlay({ hosts: 1 })[0] as Netns; // 198.18.0.1: overlay configs get past their underlay check
  container = fixture.containerNetns();
  fs.mkdirSync(dataDir);
  fs.mkdirSync(path.join(scratch, "a-directory"));
  fs.writeFileSync(path.join(scratch, "a-file"), "not a namespace\n");
  Object.assign(placeholders, {
    "@DATADIR@": dataDir,
    "@NETNS@": container.path,
    "@HOSTNS@": host.path,
    "@FILE@": path.join(scratch, "a-file"),
    "@DIR@": path.join(scratch, "a-directory"),
    "@CNIPATH@": distBin,
  });
  // The shared objects a valid ADD makes (bridge, gateway address, nft table) are part of the baseline.
  for (const [, entry] of cases) {
    if (!entry.setupStdin) continue;
    const valid = {
      hostNetns: host.path,
      plugin: entry.plugin,
      containerId,
      containerNetns: container.path,
      stdin: fill(entry.setupStdin),
    };
    expect(failures([await runInHost({ ...valid, command: "ADD" })])).toEqual([]);
    expect(failures([await runInHost({ ...valid, command: "DEL" })])).toEqual([]);
  }
}, 120_000);

function fill(text: string): string {
  return Object.entries(placeholders).reduce(
    (filled, [placeholder, value]) => filled.split(placeholder).join(value),
    text,
  );
}

function patched(
  result: Record<string, unknown>,
  patch: NonNullable<CorpusCase["prevResultPatch"]>,
): Record<string, unknown> {
  const copy = structuredClone(result);
  for (const { path: keys, value } of patch) {
    let node: Record<string | number, unknown> = copy;
    for (const key of keys.slice(0, -1)) {
      const next =
        key === "@sandbox"
          ? (node as unknown as Array<{ sandbox?: string }>).find((iface) => iface.sandbox)
          : node[key];
      node = next as Record<string | number, unknown>;
    }
    const last = keys[keys.length - 1] as string | number;
    node[last] = value;
  }
  return copy;
}

function envOf(entry: CorpusCase): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(entry.env).map(([name, value]) => [name, value === null ? undefined : fill(value)]),
  );
}

describe(`hostile input: ${cases.length} cases from test/hardening/corpus`, () => {
  it.each(cases)("%s", async (_file, entry) => {
    const base = { hostNetns: host.path, plugin: entry.plugin, containerId, containerNetns: container.path };
    let stdin = fill(entry.stdin);
    if (entry.setupStdin) {
      const added = await runInHost({ ...base, command: "ADD", stdin: fill(entry.setupStdin) });
      expect(failures([added])).toEqual([]);
      stdin = stdin.replace('"@PREVRESULT@"', JSON.stringify(patched(added.json ?? {}, entry.prevResultPatch ?? [])));
    }
    try {
      const before = snapshotHost({ host, dataDir, ownDirs: [scratch], netnsPrefix: fixture.prefix, contents: true });
      const exit = await runInHost({ ...base, command: entry.command, stdin, env: envOf(entry) });
      const after = snapshotHost({ host, dataDir, ownDirs: [scratch], netnsPrefix: fixture.prefix, contents: true });
      if (exit.status === 0 && entry.command === "ADD") await runInHost({ ...base, command: "DEL", stdin }); // keep later cases clean
      const answer = exit.json as { code?: number; msg?: string; details?: string } | undefined;
      expect(
        { status: exit.status, code: answer?.code },
        `${entry.description}: ${exit.stdout.slice(0, 300)} ${exit.stderr.slice(0, 300)}`,
      ).toEqual({ status: 1, code: entry.expectedCode });
      // msg and details are the message a runtime shows; the field is named in one of them.
      expect(`${answer?.msg ?? ""}\n${answer?.details ?? ""}`).toMatch(new RegExp(entry.expectedMessagePattern));
      expect(after, `${entry.description} changed the host`).toEqual(before);
    } finally {
      if (entry.setupStdin)
        expect(failures([await runInHost({ ...base, command: "DEL", stdin: fill(entry.setupStdin) })])).toEqual([]);
    }
  });
});
