// Property-based fuzzing of everything that reads a runtime's input: the shared
// config parser, each plugin's config loader, CNI_ARGS, prevResult and the CNI_*
// name checks. Whatever the input, the only failure allowed is a CniError (which
// the skel turns into the spec's error JSON); a TypeError or RangeError is a bug.
import * as fc from "fast-check";
import { describe, it } from "vitest";
import { loadBridgeConfig } from "../../../plugins/bridge/config";
import { loadVethConfig } from "../../../plugins/veth/config";
import { loadOverlayConfig } from "../../../overlay/plugin/config";
import { loadConfig as loadHostLocal } from "../../../ipam/host-local/session";
import { loadCniArgs, parseCniArgs, readArgsCni, readRuntimeConfig } from "../../../src/cni/args";
import { parseNetConf } from "../../../src/cni/config";
import { validateContainerId, validateIfName } from "../../../src/cni/env";
import { CniError } from "../../../src/cni/errors";
import { parseResult } from "../../../src/cni/result-convert";
import type { CmdArgs, NetConf } from "../../../src/cni/types";
import { FUZZ_RUNS, fuzzParams } from "./params";

function expectCniErrorOnly(body: () => unknown): void {
  try {
    body();
  } catch (err) {
    if (!(err instanceof CniError))
      throw new Error(
        `threw ${(err as Error)?.name ?? typeof err} instead of a CniError: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
  }
}

const ipam = {
  type: "host-local",
  dataDir: "/tmp/cnikit-fuzz-never-written",
  ranges: [[{ subnet: "10.70.0.0/24", rangeStart: "10.70.0.10", gateway: "10.70.0.1" }], [{ subnet: "fd70::/64" }]],
  routes: [{ dst: "0.0.0.0/0" }],
};
const prevResult = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", sandbox: "/run/netns/x" }],
  ips: [{ address: "10.70.0.10/24", gateway: "10.70.0.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.70.0.1" }],
  dns: { nameservers: ["10.70.0.1"] },
};
const common = {
  cniVersion: "1.1.0",
  ipam,
  prevResult,
  args: { cni: { ips: ["10.70.0.20"], mac: "02:00:00:00:00:02" } },
  runtimeConfig: { mac: "02:00:00:00:00:03", ips: ["10.70.0.21/24"] },
  dns: { nameservers: ["10.70.0.1"], search: ["example"] },
};

/** Each loader with a config it accepts, so that mutations start from something real. */
const LOADERS: Record<string, { base: Record<string, unknown>; load: (stdin: Buffer) => unknown }> = {
  bridge: {
    base: {
      ...common,
      name: "fz",
      type: "bridge",
      bridge: "fzbr0",
      isGateway: true,
      isDefaultGateway: true,
      ipMasq: true,
      mtu: 1400,
      vlan: 10,
      vlanTrunk: [{ id: 20 }, { minID: 30, maxID: 40 }],
      hairpinMode: true,
    },
    load: loadBridgeConfig,
  },
  veth: { base: { ...common, name: "fz", type: "veth", ipMasq: true, mtu: 1400 }, load: loadVethConfig },
  "vxlan-overlay": {
    base: {
      ...common,
      name: "fz",
      type: "vxlan-overlay",
      vni: 42,
      port: 4789,
      underlay: "ul0",
      peers: ["198.18.0.2", { address: "198.18.0.3", subnet: "10.70.3.0/24" }],
      mode: "l2",
      mtu: 1400,
      hostAddress: { "198.18.0.1": "10.70.1.1/24" },
    },
    load: loadOverlayConfig,
  },
  "host-local": {
    base: { ...common, name: "fz", type: "bridge" },
    load: (stdin) =>
      loadHostLocal(
        {
          containerId: "c1",
          netns: "",
          ifName: "eth0",
          args: "IgnoreUnknown=1;IP=10.70.0.30",
          path: [],
          stdinData: stdin,
        } satisfies CmdArgs,
        true,
      ),
  },
};

/** Every path into a JSON value (objects and arrays), the root included. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== "object" || value === null) return [prefix];
  const children = Object.entries(value).flatMap(([key, child]) =>
    pathsOf(child, [...prefix, Array.isArray(value) ? Number(key) : key]),
  );
  return [prefix, ...children];
}

/** `root` with the value at `path` replaced (removed for undefined); unchanged when an earlier edit removed the path. */
function replaceAt(root: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  if (typeof root !== "object" || root === null) return root;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) return root;
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1] as string | number;
  if (replacement === undefined) delete node[last];
  else node[last] = replacement;
  return copy;
}

/**
 * Deep values cannot be built as objects and stringified (JSON.stringify itself
 * overflows), so a marker string stands for one and `withDeepValues` swaps in its text.
 */
const DEEP_MARKER = /"\\u0001deep:(\d+):([[{])"/g;
const deepValue = fc
  .tuple(fc.constantFrom(129, 1000, 20_000, 100_000), fc.constantFrom("[", "{"))
  .map(([depth, open]) => `\u0001deep:${depth}:${open}`);

function deepText(depth: number, open: string): string {
  return open === "[" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

function withDeepValues(text: string): string {
  return text.replace(DEEP_MARKER, (_, depth: string, open: string) => deepText(Number(depth), open));
}

/** Wide values: long arrays, many keys, a long string (bounded output, bounded time). */
const wideValue = fc.constantFrom(
  Array.from({ length: 20_000 }, (_, i) => i),
  Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, [i, { v: "x".repeat(20) }]])),
  "y".repeat(1 << 18),
  Array.from({ length: 1000 }, () => ["10.70.0.1", { address: "198.18.0.9" }]),
);

/** Values that break assumptions: huge and odd numbers, long and odd strings, wrong shapes, deep and wide. */
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  deepValue,
  wideValue,
  fc.constantFrom(
    undefined,
    null,
    0,
    -1,
    1e308,
    -1e308,
    2 ** 53 + 1,
    1.5,
    "",
    "/",
    "..",
    "../../etc",
    "\u0000",
    "x".repeat(5000),
    [],
    {},
    [[]],
    [{}],
    "10.70.0.0/33",
    "fd70::/200",
    "300.1.1.1",
    "ff:ff",
  ),
  fc.string({ maxLength: 40 }),
);

function mutatedConfig(base: Record<string, unknown>): fc.Arbitrary<string> {
  const paths = pathsOf(base);
  return fc
    .array(fc.tuple(fc.constantFrom(...paths), hostileValue), { minLength: 1, maxLength: 3 })
    .map((edits) =>
      withDeepValues(
        JSON.stringify(edits.reduce<unknown>((config, [path, value]) => replaceAt(config, path, value), base)) ??
          "null",
      ),
    );
}

/** The base config's JSON text with characters replaced or cut (mostly decoding errors, some odd-but-valid JSON). */
function mangledText(base: Record<string, unknown>): fc.Arbitrary<string> {
  const text = JSON.stringify(base);
  return fc
    .record({ at: fc.nat({ max: text.length }), cut: fc.nat({ max: 8 }), insert: fc.string({ maxLength: 6 }) })
    .map(({ at, cut, insert }) => text.slice(0, at) + insert + text.slice(at + cut));
}

const anyText = fc.oneof(
  deepValue.map((marker) => withDeepValues(JSON.stringify(marker))),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
);

describe("fuzz: config parsers", () => {
  it(`parseNetConf on any text (${FUZZ_RUNS} cases)`, () => {
    fc.assert(
      fc.property(anyText, (text) => expectCniErrorOnly(() => parseNetConf(Buffer.from(text)))),
      fuzzParams(10),
    );
  });

  for (const [plugin, { base, load }] of Object.entries(LOADERS)) {
    it(`${plugin}: the base config loads`, () => {
      load(Buffer.from(JSON.stringify(base)));
    });

    it(`${plugin}: fields replaced by hostile values (${FUZZ_RUNS} cases)`, () => {
      fc.assert(
        fc.property(mutatedConfig(base), (stdin) => expectCniErrorOnly(() => load(Buffer.from(stdin)))),
        fuzzParams(11),
      );
    }, 30_000); // deep and wide values take seconds on a loaded 2-core machine

    it(`${plugin}: mangled JSON text and any text (${FUZZ_RUNS} cases)`, () => {
      fc.assert(
        fc.property(fc.oneof(mangledText(base), anyText), (stdin) =>
          expectCniErrorOnly(() => load(Buffer.from(stdin))),
        ),
        fuzzParams(12),
      );
    });
  }

  it(`CNI_ARGS, args.cni and runtimeConfig (${FUZZ_RUNS} cases)`, () => {
    const argsText = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc
        .array(
          fc.tuple(
            fc.constantFrom("IP", "MAC", "IgnoreUnknown", "K8S_POD_NAME", "", "x"),
            fc.string({ maxLength: 20 }),
          ),
          { maxLength: 4 },
        )
        .map((pairs) => pairs.map(([key, value]) => `${key}=${value}`).join(";")),
    );
    fc.assert(
      fc.property(argsText, hostileValue, hostileValue, (raw, argsValue, runtimeValue) => {
        expectCniErrorOnly(() => parseCniArgs(raw));
        expectCniErrorOnly(() => loadCniArgs(raw, ["IP", "MAC"]));
        const conf = {
          cniVersion: "1.1.0",
          name: "fz",
          type: "bridge",
          args: { cni: argsValue },
          runtimeConfig: runtimeValue,
        } as unknown as NetConf;
        expectCniErrorOnly(() => readArgsCni(conf));
        expectCniErrorOnly(() => readRuntimeConfig(conf));
      }),
      fuzzParams(13),
    );
  });

  it(`prevResult of any shape (${FUZZ_RUNS} cases)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedConfig(prevResult).map((text) => JSON.parse(text) as unknown),
          fc.jsonValue({ maxDepth: 4 }),
        ),
        (value) => expectCniErrorOnly(() => parseResult(value)),
      ),
      fuzzParams(14),
    );
  });

  it(`CNI_IFNAME and CNI_CONTAINERID (${FUZZ_RUNS} cases)`, () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (name) => {
        expectCniErrorOnly(() => validateIfName(name));
        expectCniErrorOnly(() => validateContainerId(name));
      }),
      fuzzParams(15),
    );
  });
});
