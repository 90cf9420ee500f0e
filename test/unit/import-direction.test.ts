// The dependency direction of ARCHITECTURE.md ("Layout and dependency direction"),
// enforced: every import, export-from, require() and import() of every source file in
// src/, plugins/, overlay/, ipam/, native/ and netns-fixtures/ is checked against the table below,
// which is that table's rows as code. A row added to the document without a rule here
// (or the other way round) fails too, so the two cannot drift apart.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..");
const SOURCE_DIRS = ["src", "plugins", "overlay", "ipam", "native", "netns-fixtures"];

/** What a file belongs to: a row of the table (by its first column) and, for plugins, which one. */
interface Place {
  row: string;
  /** plugins/<name>, ipam/<name> or overlay/plugin: a plugin may not import another. */
  plugin?: string;
}

function placeOf(file: string): Place | undefined {
  const parts = file.split("/");
  const [top, second] = parts;
  if (top === "plugins") return { row: "plugins/*", plugin: `plugins/${second}` };
  if (top === "ipam") return { row: "ipam/host-local", plugin: `ipam/${second}` };
  if (file.startsWith("overlay/plugin/")) return { row: "overlay/plugin", plugin: "overlay/plugin" };
  if (top === "overlay" && parts.length > 2) return { row: `overlay/${second}` };
  // The TypeScript of native/ (the loader, the errno table) and the addon it loads are one row.
  if (top === "native") return { row: "native/*.ts" };
  if (top === "netns-fixtures") return { row: "netns-fixtures" };
  if (file === "src/plugin/lock-layout.ts") return { row: file };
  if (top === "src" && parts.length === 2) return { row: file };
  if (top === "src") return { row: `src/${second}` };
  return undefined;
}

const ALL_ROWS = [
  "src/ip",
  "native/*.ts",
  "src/netns",
  "src/netlink",
  "src/cni",
  "ipam/host-local",
  "plugins/*",
  "src/plugin",
  "overlay/kernel",
  "overlay/plugin",
  "overlay/membership",
  "src/daemon",
  "src/cli",
  "src/main.ts",
  "src/process-alive.ts",
  "src/plugin/lock-layout.ts",
  "netns-fixtures",
];

function everyRowBut(...rows: string[]): string[] {
  return ALL_ROWS.filter((row) => !rows.includes(row));
}

/** Everything a plugin may use: `src/*` except `cli` and `daemon` (and the composition root). */
const PLUGIN_SIDE = ["src/cni", "src/ip", "src/netlink", "src/netns", "src/plugin", "src/plugin/lock-layout.ts"];

interface Rule {
  /** Rows (first column of the table) this row's files may import; its own row always. */
  may: readonly string[];
  /** Files of the row that may also import these rows (the table's "X alone Y"). */
  alone?: Readonly<Record<string, readonly string[]>>;
  /** Only node built-ins among packages (no npm package either). */
  builtinsOnly?: boolean;
}

const RULES: Readonly<Record<string, Rule>> = {
  "src/ip": { may: [], builtinsOnly: true },
  "native/*.ts": { may: [], builtinsOnly: true },
  // One row in the table: the namespace code and the netlink code that enters namespaces.
  "src/netns": { may: ["native/*.ts", "src/ip", "src/netlink"] },
  "src/netlink": { may: ["native/*.ts", "src/ip", "src/netns"] },
  "src/cni": { may: ["src/ip"] },
  "ipam/host-local": {
    may: ["src/cni", "src/ip"],
    alone: { "ipam/host-local/lock.ts": ["native/*.ts"] },
  },
  "plugins/*": { may: PLUGIN_SIDE },
  "src/plugin": { may: PLUGIN_SIDE, alone: { "src/plugin/host-lock.ts": ["native/*.ts"] } },
  // The overlay's three folders: the kernel code the plugin and the agent share sits on the
  // plugin side; the agent never loads the plugin, and src/ reaches the overlay only from the
  // composition roots (cli, main.ts, the daemon's plugin registry).
  "overlay/kernel": { may: PLUGIN_SIDE },
  "overlay/plugin": { may: [...PLUGIN_SIDE, "overlay/kernel"] },
  "overlay/membership": { may: [...PLUGIN_SIDE, "overlay/kernel"] },
  "src/daemon": {
    may: [...PLUGIN_SIDE, "plugins/*", "ipam/host-local", "native/*.ts", "src/process-alive.ts"],
    alone: { "src/daemon/plugins.ts": ["overlay/plugin"] },
  },
  "src/cli": { may: everyRowBut("src/cli", "src/main.ts") },
  "src/main.ts": { may: everyRowBut("src/main.ts") },
  "src/process-alive.ts": { may: [], builtinsOnly: true },
  "src/plugin/lock-layout.ts": { may: [], builtinsOnly: true },
  "netns-fixtures": { may: ["src/plugin/lock-layout.ts"], builtinsOnly: true },
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory() && entry.name !== "build") out.push(...sourceFiles(relative));
    // Generated validators are ajv's code, not ours.
    else if (/\.(ts|js)$/.test(entry.name) && !/\.validate\.(js|d\.ts)$/.test(entry.name)) out.push(relative);
  }
  return out;
}

/** Comments out (a `//` after a non-space, as in "http://", is not one), so that prose naming a module is no import. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|\s)\/\/.*$/gm, "$1");
}

function specifiersOf(text: string): string[] {
  const pattern = /(?:\bfrom\s*|\brequire\(\s*|\bimport\(\s*|^\s*import\s+)["']([^"'$]+)["']/gm;
  return [...withoutComments(text).matchAll(pattern)].map((match) => match[1] ?? "");
}

/** A relative specifier as a path from the repository root, without extension. */
function resolve(file: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
}

function targetPlace(target: string): Place | undefined {
  for (const candidate of [`${target}.ts`, `${target}.js`, `${target}/index.ts`, target]) {
    const place = placeOf(candidate);
    if (place && fs.existsSync(path.join(ROOT, candidate))) return place;
  }
  return placeOf(`${target}.ts`);
}

function violation(file: string, specifier: string): string | undefined {
  const from = placeOf(file);
  const rule = from && RULES[from.row];
  if (!from || !rule) return `${file}: in no row of the table`;
  if (!specifier.startsWith(".")) {
    const builtin = specifier.startsWith("node:");
    return rule.builtinsOnly && !builtin ? `${file} imports package ${specifier} (node built-ins only)` : undefined;
  }
  const target = resolve(file, specifier);
  if (target === "package.json") return undefined; // data, not a layer
  if (target.startsWith("dist/")) return `${file} imports ${specifier}: source never reads dist/`;
  const to = targetPlace(target);
  if (!to) return `${file} imports ${specifier}, outside the source folders`;
  if (from.plugin && to.plugin && from.plugin !== to.plugin) return `${file} imports another plugin: ${specifier}`;
  if (to.row === from.row) return undefined;
  const allowed = [...rule.may, ...(rule.alone?.[file] ?? [])];
  return allowed.includes(to.row) ? undefined : `${file} (${from.row}) imports ${specifier} (${to.row})`;
}

function documentedRows(): string[] {
  const doc = fs.readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8");
  const start = doc.indexOf("| folder | may import | must not import |");
  expect(start, "the dependency table in ARCHITECTURE.md").toBeGreaterThan(-1);
  const rows = doc.slice(start).split("\n\n")[0]?.split("\n").slice(2) ?? [];
  return rows.flatMap((line) => (line.split("|")[1] ?? "").split(",").map((cell) => cell.replace(/`/g, "").trim()));
}

describe("import direction (ARCHITECTURE.md)", () => {
  const files = SOURCE_DIRS.flatMap(sourceFiles);

  it("has a rule for exactly the rows of the document's table", () => {
    expect(documentedRows().sort()).toEqual(Object.keys(RULES).sort());
  });

  it("reads every source file's imports", () => {
    expect(files.length).toBeGreaterThan(200);
    const specifiers = files.flatMap((file) => specifiersOf(fs.readFileSync(path.join(ROOT, file), "utf8")));
    expect(specifiers.length).toBeGreaterThan(1000);
  });

  it("no file imports across the table", () => {
    const found = files.flatMap((file) =>
      specifiersOf(fs.readFileSync(path.join(ROOT, file), "utf8")).flatMap((specifier) => {
        const problem = violation(file, specifier);
        return problem ? [problem] : [];
      }),
    );
    expect(found).toEqual([]);
  });

  it("would catch each kind of crossing", () => {
    expect(violation("src/plugin/ipam.ts", "../../ipam/host-local/plugin")).toMatch(/src\/plugin.*ipam\/host-local/);
    expect(violation("overlay/membership/etcd-protos.ts", "../../dist/etcd/rpc.json")).toMatch(/never reads dist/);
    expect(violation("plugins/bridge/bridge.ts", "../veth/veth")).toMatch(/another plugin/);
    expect(violation("src/cni/skel.ts", "../netlink/links")).toMatch(/src\/cni.*src\/netlink/);
    expect(violation("src/ip/cidr.ts", "ip-address")).toMatch(/node built-ins only/);
    expect(violation("ipam/host-local/store.ts", "../../native")).toMatch(/native\/\*\.ts/);
    expect(violation("ipam/host-local/lock.ts", "../../native")).toBeUndefined();
    expect(violation("netns-fixtures/fixture.ts", "../src/ip/address")).toMatch(/netns-fixtures/);
    expect(violation("src/daemon/serve.ts", "../cli/main")).toMatch(/src\/daemon.*src\/cli/);
    expect(violation("overlay/kernel/flood.ts", "../plugin/config")).toMatch(/overlay\/kernel.*overlay\/plugin/);
    expect(violation("overlay/membership/agent.ts", "../plugin/peers")).toMatch(/overlay\/membership.*overlay\/plugin/);
    expect(violation("overlay/plugin/config.ts", "../membership/files")).toMatch(
      /overlay\/plugin.*overlay\/membership/,
    );
    expect(violation("overlay/plugin/config.ts", "../../plugins/bridge/config")).toMatch(/another plugin/);
    expect(violation("src/plugin/bridge-attach.ts", "../../overlay/kernel/names")).toMatch(
      /src\/plugin.*overlay\/kernel/,
    );
    expect(violation("src/daemon/pool.ts", "../../overlay/plugin/vxlan-overlay")).toMatch(/src\/daemon.*overlay/);
    expect(violation("src/daemon/plugins.ts", "../../overlay/plugin/vxlan-overlay")).toBeUndefined();
    expect(violation("src/cli/overlay.ts", "../../overlay/membership/admin")).toBeUndefined();
  });
});
