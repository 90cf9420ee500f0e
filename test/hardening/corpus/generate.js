#!/usr/bin/env node
// Writes the hostile-input corpus: one JSON file per case. Run it after changing a
// case (`node test/hardening/corpus/generate.js`) and commit the files; the suite reads
// the files, never this script, so hand-written cases can sit beside generated ones.
//
// Placeholders the suite fills in: @DATADIR@ (the host-local data dir), @NETNS@ (a
// fresh container namespace), @HOSTNS@ (the host namespace the plugin runs in),
// @FILE@ (a regular file), @DIR@ (a directory), @CNIPATH@ (the plugin directory).
// An env value of null removes that variable.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const CONFIG = {
  bridge: { cniVersion: "1.1.0", name: "hzbad-br", type: "bridge", bridge: "hzbad0", isGateway: true, ipMasq: true, ipam: { type: "host-local", dataDir: "@DATADIR@", ranges: [[{ subnet: "10.64.0.0/24" }]] } },
  veth: { cniVersion: "1.1.0", name: "hzbad-ve", type: "veth", ipMasq: true, ipam: { type: "host-local", dataDir: "@DATADIR@", ranges: [[{ subnet: "10.65.0.0/24" }]] } },
  "vxlan-overlay": { cniVersion: "1.1.0", name: "hzbad-vx", type: "vxlan-overlay", vni: 4545, peers: ["198.18.0.2"], ipam: { type: "host-local", dataDir: "@DATADIR@", ranges: [[{ subnet: "10.67.0.0/24" }]] } },
  "host-local": { cniVersion: "1.1.0", name: "hzbad-hl", type: "bridge", ipam: { type: "host-local", dataDir: "@DATADIR@", ranges: [[{ subnet: "10.66.0.0/24" }]] } },
};
// Malformed input, versions, names and IDs are checked the same way for every plugin.
const PLUGINS = Object.keys(CONFIG);
const cases = [];

function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

/** The base config with `field` (a.b[0].c as a list of keys) set to `value`, or removed when value is undefined. */
function withField(plugin, keys, value) {
  const config = clone(CONFIG[plugin]);
  let node = config;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return config;
}

function add(entry) {
  const stdin = entry.stdin ?? JSON.stringify(entry.config);
  cases.push({
    description: entry.description,
    plugin: entry.plugin,
    command: entry.command ?? "ADD",
    env: entry.env ?? {},
    stdin,
    ...(entry.setupStdin ? { setupStdin: entry.setupStdin } : {}),
    expectedCode: entry.code,
    expectedMessagePattern: entry.pattern,
  });
}

// Malformed and truncated JSON: code 6 (decoding), for every plugin.
const MALFORMED = [
  ["empty stdin", ""],
  ["only whitespace", " \n\t "],
  ["an open brace", "{"],
  ["JSON null", "null"],
  ["a JSON array", "[]"],
  ["a JSON number", "42"],
  ["a JSON string", '"bridge"'],
  ["trailing garbage", '{"cniVersion":"1.1.0","name":"x","type":"bridge"} trailing'],
  ["single quotes", "{'cniVersion':'1.1.0'}"],
  ["a NUL byte", '{"cniVersion":"1.1.0",\u0000"name":"x"}'],
  ["deeply nested arrays", "[".repeat(20000) + "]".repeat(20000)],
  ["deeply nested unterminated", '{"a":'.repeat(5000)],
];
for (const plugin of PLUGINS) {
  for (const [what, stdin] of MALFORMED) add({ plugin, description: `malformed JSON: ${what}`, stdin, code: 6, pattern: "network config" });
  const valid = JSON.stringify(CONFIG[plugin]);
  for (const fraction of [0.1, 0.35, 0.6, 0.9, 0.99]) {
    const cut = Math.floor(valid.length * fraction);
    add({ plugin, description: `truncated JSON: first ${cut} of ${valid.length} bytes`, stdin: valid.slice(0, cut), code: 6, pattern: "network config" });
  }
}

// Versions: code 1 naming the version.
// The spec's error says "incompatible CNI versions" and names the version in details.
const VERSIONS = [["9.9.9", "9.9.9"], ["1.1", '"1.1"'], ["v1.0.0", "v1.0.0"], ["1.1.0-rc1", "1.1.0-rc1"], ["0.0.1", "0.0.1"], ["1.1.0\n", "1.1.0"]];
for (const plugin of PLUGINS) {
  for (const [version, pattern] of VERSIONS) add({ plugin, description: `unknown cniVersion ${JSON.stringify(version)}`, config: withField(plugin, ["cniVersion"], version), code: 1, pattern });
}
add({ plugin: "bridge", description: "cniVersions lists only unknown versions", config: { ...withField("bridge", ["cniVersion"], undefined), cniVersions: ["9.0.0", "8.0.0"] }, code: 1, pattern: "9.0.0|cniVersion" });
add({ plugin: "bridge", description: "GC with a 1.0.0 config (GC is 1.1.0)", command: "GC", config: withField("bridge", ["cniVersion"], "1.0.0"), code: 1, pattern: "GC" });
add({ plugin: "bridge", description: "cniVersion is a number", config: withField("bridge", ["cniVersion"], 1.1), code: 6, pattern: "cniVersion" });
add({ plugin: "veth", description: "cniVersion is an object", config: withField("veth", ["cniVersion"], { major: 1 }), code: 6, pattern: "cniVersion" });

// Wrong types and out-of-range values: code 7 naming the field.
const FIELDS = {
  bridge: [
    [["name"], 5, "name"],
    [["name"], "", "name"],
    [["bridge"], 7, "bridge"],
    [["bridge"], "", "bridge"],
    [["bridge"], "a-bridge-name-longer-than-15", "bridge"],
    [["bridge"], "br/0", "bridge"],
    [["bridge"], "br 0", "bridge"],
    [["isGateway"], "yes", "isGateway"],
    [["ipMasq"], "true", "ipMasq"],
    [["mtu"], "1500", "mtu"],
    [["mtu"], 1.5, "mtu"],
    [["mtu"], -1, "mtu"],
    [["mtu"], 67, "mtu"],
    [["mtu"], 1e308, "mtu"],
    [["mtu"], 9007199254740993, "mtu"],
    [["vlan"], 4095, "vlan"],
    [["vlan"], -5, "vlan"],
    [["vlan"], "10", "vlan"],
    [["vlanTrunk"], "1-10", "vlanTrunk"],
    [["vlanTrunk"], [{ id: 0 }], "vlanTrunk\\[0\\]"],
    [["vlanTrunk"], [{ minID: 10, maxID: 5 }], "vlanTrunk\\[0\\]"],
    [["vlanTrunk"], [{ id: 5, minID: 1, maxID: 9 }], "vlanTrunk\\[0\\]"],
    [["vlanTrunk"], [{ minID: 3 }], "vlanTrunk\\[0\\]"],
    [["hairpinMode"], 1, "hairpinMode"],
    [["ipMasqBackend"], "pf", "ipMasqBackend"],
    [["ipam"], "host-local", "ipam"],
    [["ipam"], [], "ipam"],
    [["ipam", "type"], 5, "ipam"],
    [["ipam", "type"], "../../bin/sh", "ipam"],
    [["ipam", "type"], ".", "ipam.type"],
  ],
  veth: [
    [["name"], 5, "name"],
    [["ipMasq"], 1, "ipMasq"],
    [["mtu"], 12, "mtu"],
    [["mtu"], 70000, "mtu"],
    [["mtu"], "1500", "mtu"],
    [["dns"], "8.8.8.8", "dns"],
    [["dns", "nameservers"], "8.8.8.8", "dns.nameservers"],
    [["ipam"], undefined, "ipam"],
    [["ipam"], 5, "ipam"],
    [["ipam", "type"], "", "ipam"],
  ],
  "vxlan-overlay": [
    [["vni"], undefined, "vni"],
    [["vni"], 0, "vni"],
    [["vni"], 16777216, "vni"],
    [["vni"], "42", "vni"],
    [["port"], 0, "port"],
    [["port"], 65536, "port"],
    [["underlay"], "ul/0", "underlay"],
    [["underlay"], "an-underlay-name-too-long", "underlay"],
    [["localAddress"], "not-an-ip", "localAddress"],
    [["peers"], "198.18.0.2", "peers"],
    [["peers"], ["198.18.0.999"], "peers\\[0\\]"],
    [["peers"], [{ address: "198.18.0.2", subnet: "10.67.9.0/99" }], "peers\\[0\\]"],
    [["mode"], "l4", "mode"],
    [["subnet"], "10.67.1.0/24", "subnet"],
    [["hostAddress"], "10.67.0.1/24", "hostAddress"],
    [["hostAddress"], { "198.18.0.1": "10.67.0.1" }, "hostAddress"],
    [["hostAddress"], { "not-an-ip": "10.67.0.1/24" }, "hostAddress"],
    [["mtu"], 60, "mtu"],
    [["bridge"], "br/x", "bridge"],
  ],
  "host-local": [
    [["ipam", "ranges"], "10.0.0.0/24", "ipam.ranges"],
    [["ipam", "ranges"], [], "ranges|ipam"],
    [["ipam", "ranges"], [[]], "ipam.ranges\\[0\\]"],
    [["ipam", "ranges"], [[{ subnet: 5 }]], "ipam.ranges\\[0\\]\\[0\\].subnet"],
    [["ipam", "ranges"], [[{}]], "subnet"],
    [["ipam", "dataDir"], 5, "ipam.dataDir"],
    [["ipam", "dataDir"], "relative/dir", "ipam.dataDir"],
    [["ipam", "routes"], [{ dst: "x" }], "ipam.routes\\[0\\].dst"],
    [["ipam", "routes"], [{ dst: "0.0.0.0/0", gw: "gateway" }], "ipam.routes\\[0\\].gw"],
    [["ipam", "routes"], "0.0.0.0/0", "ipam.routes"],
    [["ipam", "resolvConf"], 5, "resolvConf"],
  ],
};
for (const [plugin, fields] of Object.entries(FIELDS)) {
  for (const [keys, value, pattern] of fields) {
    const shown = value === undefined ? "missing" : JSON.stringify(value).slice(0, 40);
    add({ plugin, description: `${keys.join(".")} is ${shown}`, config: withField(plugin, keys, value), code: 7, pattern });
  }
}

// Huge inputs: code 7 naming the field (or 1 for the version), never a crash.
const HUGE = "x".repeat(65_536);
add({ plugin: "bridge", description: "a 64 kB network name", config: withField("bridge", ["name"], HUGE), code: 7, pattern: "name" });
add({ plugin: "host-local", description: "a 64 kB network name", config: withField("host-local", ["name"], HUGE), code: 7, pattern: "name" });
add({ plugin: "bridge", description: "a 64 kB bridge name", config: withField("bridge", ["bridge"], HUGE), code: 7, pattern: "bridge" });
add({ plugin: "veth", description: "a 64 kB cniVersion", config: withField("veth", ["cniVersion"], HUGE), code: 1, pattern: "version" });
add({ plugin: "host-local", description: "a 64 kB subnet", config: withField("host-local", ["ipam", "ranges"], [[{ subnet: HUGE }]]), code: 7, pattern: "subnet" });
add({ plugin: "bridge", description: "mtu written as 1e999 (Infinity)", stdin: JSON.stringify(CONFIG.bridge).replace('"isGateway"', '"mtu":1e999,"isGateway"'), code: 7, pattern: "mtu" });
add({ plugin: "bridge", description: "a vlanTrunk of 4094 single IDs plus a bad one", config: withField("bridge", ["vlanTrunk"], [...Array.from({ length: 4094 }, (_, i) => ({ id: i + 1 })), { id: 4095 }]), code: 7, pattern: "vlanTrunk\\[4094\\]" });
add({ plugin: "host-local", description: "5000 range sets, one bad", config: withField("host-local", ["ipam", "ranges"], [...Array.from({ length: 4999 }, (_, i) => [{ subnet: `10.${66 + Math.floor(i / 256)}.${i % 256}.0/24` }]), [{ subnet: "bad" }]]), code: 7, pattern: "ipam.ranges\\[4999\\]" });
add({ plugin: "veth", description: "a 2^64 vlan-like mtu", stdin: JSON.stringify(CONFIG.veth).replace('"ipMasq"', '"mtu":18446744073709551616,"ipMasq"'), code: 7, pattern: "mtu" });

// Bad CIDRs and ranges: code 7 naming the range's field.
const RANGES = [
  [{ subnet: "10.66.0.0/33" }, "subnet"],
  [{ subnet: "10.66.0.0" }, "subnet"],
  [{ subnet: "300.66.0.0/24" }, "subnet"],
  [{ subnet: "10.66.0.0/-1" }, "subnet"],
  [{ subnet: "fd00::/129" }, "subnet"],
  [{ subnet: "10.66.0.0/24/8" }, "subnet"],
  [{ subnet: " 10.66.0.0/24" }, "subnet"],
  [{ subnet: "10.66.0.0/24", rangeStart: "10.67.0.10" }, "rangeStart"],
  [{ subnet: "10.66.0.0/24", rangeEnd: "10.66.1.10" }, "rangeEnd"],
  [{ subnet: "10.66.0.0/24", rangeStart: "10.66.0.50", rangeEnd: "10.66.0.10" }, "rangeStart|rangeEnd"],
  [{ subnet: "10.66.0.0/24", rangeStart: "not-an-ip" }, "rangeStart"],
  [{ subnet: "10.66.0.0/24", gateway: "10.99.0.1" }, "gateway"],
  [{ subnet: "10.66.0.0/24", gateway: "fd00::1" }, "gateway"],
  [{ subnet: "10.66.0.0/24", rangeStart: "fd00::5" }, "rangeStart"],
];
for (const [range, pattern] of RANGES) {
  for (const plugin of ["host-local", "bridge"]) {
    add({ plugin, description: `bad range ${JSON.stringify(range)}`, config: withField(plugin, ["ipam", "ranges"], [[range]]), code: 7, pattern });
  }
}
add({ plugin: "host-local", description: "legacy subnet field that is not a CIDR", config: { ...withField("host-local", ["ipam", "ranges"], undefined), ipam: { type: "host-local", dataDir: "@DATADIR@", subnet: "10.66.0.0/40" } }, code: 7, pattern: "subnet" });

// Overlapping ranges: code 7 saying which overlap.
const OVERLAPS = [
  ["two ranges of one set", [[{ subnet: "10.66.0.0/24" }, { subnet: "10.66.0.128/25" }]]],
  ["the same subnet twice in a set", [[{ subnet: "10.66.0.0/24" }, { subnet: "10.66.0.0/24" }]]],
  ["two range sets", [[{ subnet: "10.66.0.0/24" }], [{ subnet: "10.66.0.0/16" }]]],
  ["split ranges that overlap", [[{ subnet: "10.66.0.0/24", rangeStart: "10.66.0.10", rangeEnd: "10.66.0.100" }, { subnet: "10.66.0.0/24", rangeStart: "10.66.0.50", rangeEnd: "10.66.0.150" }]]],
  ["IPv6 sets", [[{ subnet: "fd66::/64" }], [{ subnet: "fd66::/48" }]]],
  ["a set mixing families", [[{ subnet: "10.66.0.0/24" }, { subnet: "fd66::/64" }]]],
];
for (const [what, ranges] of OVERLAPS) {
  for (const plugin of ["host-local", "bridge", "veth"]) {
    add({ plugin, description: `overlapping ranges: ${what}`, config: withField(plugin, ["ipam", "ranges"], ranges), code: 7, pattern: "overlap|famil|ranges" });
  }
}

// A bridge that does not exist yet: a config that fails later (IPAM, CNI_ARGS) must not leave it behind.
const NEW_BRIDGE = { ...CONFIG.bridge, bridge: "hzbadnew0" };
add({ plugin: "bridge", description: "a new bridge with a bad IPAM range", config: { ...NEW_BRIDGE, ipam: { ...NEW_BRIDGE.ipam, ranges: [[{ subnet: "10.64.0.0/24", gateway: "10.1.1.1" }]] } }, code: 7, pattern: "gateway" });
add({ plugin: "bridge", description: "a new bridge with a missing IPAM plugin", config: { ...NEW_BRIDGE, ipam: { ...NEW_BRIDGE.ipam, type: "no-such-ipam-plugin" } }, code: 50, pattern: "no-such-ipam-plugin" });
add({ plugin: "bridge", description: "a new bridge with a bad MAC in CNI_ARGS", env: { CNI_ARGS: "MAC=nonsense" }, config: NEW_BRIDGE, code: 4, pattern: "MAC" });
add({ plugin: "bridge", description: "a new bridge with a bad network name", config: { ...NEW_BRIDGE, name: "../up" }, code: 7, pattern: "name" });
add({ plugin: "bridge", description: "a new bridge in the host's own namespace", env: { CNI_NETNS: "/proc/self/ns/net" }, config: NEW_BRIDGE, code: 4, pattern: "CNI_NETNS" });

// Path-like network names: host-local keeps leases in dataDir/<name>.
const NAMES = ["../../etc", "a/b", "/abs", ".hidden", "..", ".", "x\ny", "x\u0000y", "-dash", "name with space"];
for (const name of NAMES) {
  for (const plugin of PLUGINS) add({ plugin, description: `network name ${JSON.stringify(name)}`, config: withField(plugin, ["name"], name), code: 7, pattern: "name" });
}

// CNI_CONTAINERID and CNI_IFNAME: code 4 naming the variable.
const CONTAINER_IDS = ["../escape", "a/b", ".hidden", "-dash", "x y", "x\ny", "ü-container", "a".repeat(300) + "/"];
for (const containerId of CONTAINER_IDS) {
  for (const plugin of PLUGINS) add({ plugin, description: `CNI_CONTAINERID ${JSON.stringify(containerId.slice(0, 20))}`, env: { CNI_CONTAINERID: containerId }, config: CONFIG[plugin], code: 4, pattern: "CNI_CONTAINERID" });
}
// Plugins that create a container interface (host-local only allocates).
const ATTACHING = ["bridge", "veth", "vxlan-overlay"];
const IFNAMES = ["eth0123456789abc", "a/b", "..", ".", "eth 0", "eth:0", "eth\n0", "ääääääää", "x".repeat(1000)];
for (const ifName of IFNAMES) {
  for (const plugin of ATTACHING) add({ plugin, description: `CNI_IFNAME ${JSON.stringify(ifName.slice(0, 20))}`, env: { CNI_IFNAME: ifName }, config: CONFIG[plugin], code: 4, pattern: "CNI_IFNAME" });
}
for (const plugin of ATTACHING) {
  add({ plugin, description: "CNI_IFNAME missing", env: { CNI_IFNAME: null }, config: CONFIG[plugin], code: 4, pattern: "CNI_IFNAME" });
  add({ plugin, description: "CNI_CONTAINERID missing", env: { CNI_CONTAINERID: null }, config: CONFIG[plugin], code: 4, pattern: "CNI_CONTAINERID" });
  add({ plugin, description: "CNI_PATH missing", env: { CNI_PATH: null }, config: CONFIG[plugin], code: 4, pattern: "CNI_PATH" });
  add({ plugin, description: "CNI_COMMAND unknown", env: { CNI_COMMAND: "ADDX" }, config: CONFIG[plugin], code: 4, pattern: "CNI_COMMAND" });
  add({ plugin, description: "CNI_COMMAND lower case", env: { CNI_COMMAND: "add" }, config: CONFIG[plugin], code: 4, pattern: "CNI_COMMAND" });
}

// CNI_NETNS that is not a container's network namespace: code 4 naming CNI_NETNS.
const NETNS = [
  ["missing", "/run/netns/hzbad-does-not-exist"],
  ["a regular file", "@FILE@"],
  ["a directory", "@DIR@"],
  ["the host's own namespace (/proc/self/ns/net)", "/proc/self/ns/net"],
  ["the host's own namespace (its bind mount)", "@HOSTNS@"],
  ["a mount namespace", "/proc/self/ns/mnt"],
  ["a character device", "/dev/null"],
  ["a relative path", "netns/x"],
  ["a path with a NUL-free dot-dot walk", "/run/netns/../netns/hzbad-does-not-exist"],
];
for (const [what, netns] of NETNS) {
  for (const plugin of ATTACHING) add({ plugin, description: `CNI_NETNS is ${what}`, env: { CNI_NETNS: netns }, config: CONFIG[plugin], code: 4, pattern: "CNI_NETNS" });
}
for (const plugin of ATTACHING) add({ plugin, description: "CNI_NETNS missing for ADD", env: { CNI_NETNS: null }, config: CONFIG[plugin], code: 4, pattern: "CNI_NETNS" });

// CNI_ARGS: code 4 naming CNI_ARGS (or the argument).
const CNI_ARGS = [
  ["a pair without =", "foo", "CNI_ARGS"],
  ["an empty key", "=value", "CNI_ARGS"],
  ["an unknown key without IgnoreUnknown", "NOT_KNOWN=1", "CNI_ARGS|NOT_KNOWN"],
  ["IP that is not an address", "IP=300.1.1.1", "IP"],
  ["IP with a bad prefix", "IP=10.64.0.5/99", "IP"],
  ["MAC that is not a MAC", "MAC=zz:zz:zz:zz:zz:zz", "MAC"],
  ["MAC too short", "MAC=02:00:00:00:00", "MAC"],
  ["MAC with IgnoreUnknown still checked", "IgnoreUnknown=1;MAC=nonsense", "MAC"],
];
for (const [what, cniArgs, pattern] of CNI_ARGS) {
  for (const plugin of ATTACHING) add({ plugin, description: `CNI_ARGS: ${what}`, env: { CNI_ARGS: cniArgs }, config: CONFIG[plugin], code: 4, pattern });
}
add({ plugin: "bridge", description: "CNI_ARGS IP outside every range", env: { CNI_ARGS: "IP=10.99.0.5" }, config: CONFIG.bridge, code: 101, pattern: "10.99.0.5" });
add({ plugin: "veth", description: "CNI_ARGS two IPs in one range", env: { CNI_ARGS: "IP=10.65.0.5,10.65.0.6" }, config: CONFIG.veth, code: 101, pattern: "10.65.0.6|range" });
add({ plugin: "bridge", description: "args.cni.ips holds a non-address", config: withField("bridge", ["args"], { cni: { ips: ["nope"] } }), code: 7, pattern: "args.cni.ips\\[0\\]" });
add({ plugin: "bridge", description: "args.cni is a string", config: withField("bridge", ["args"], { cni: "ips=10.64.0.5" }), code: 7, pattern: "args.cni" });
add({ plugin: "veth", description: "args.cni is an array", config: withField("veth", ["args"], { cni: ["10.65.0.5"] }), code: 7, pattern: "args.cni" });
add({ plugin: "bridge", description: "runtimeConfig.mac is not a MAC", config: withField("bridge", ["runtimeConfig"], { mac: "not-a-mac" }), code: 7, pattern: "mac" });
add({ plugin: "bridge", description: "runtimeConfig.ips is a string", config: withField("bridge", ["runtimeConfig"], { ips: "10.64.0.5" }), code: 7, pattern: "runtimeConfig.ips|ips" });

// CHECK: a missing or malformed prevResult, and one that does not match the kernel.
for (const plugin of ATTACHING) {
  add({ plugin, command: "CHECK", description: "CHECK without prevResult", config: CONFIG[plugin], code: 7, pattern: "prevResult" });
  add({ plugin, command: "CHECK", description: "CHECK with prevResult a string", config: withField(plugin, ["prevResult"], "ok"), code: 7, pattern: "prevResult" });
  add({ plugin, command: "CHECK", description: "CHECK with a prevResult address that is not a CIDR", config: withField(plugin, ["prevResult"], { cniVersion: "1.1.0", ips: [{ address: "banana" }] }), code: 6, pattern: "prevResult" });
}
// The suite ADDs setupStdin first, then replaces "@PREVRESULT@" by that ADD's result with
// prevResultPatch applied ("@sandbox" selects the container's interface).
const KERNEL_MISMATCH = [
  ["an address the container lacks", [{ path: ["ips", 0, "address"], value: "10.64.0.200/24" }], "10.64.0.200|address"],
  ["a MAC the container's interface lacks", [{ path: ["interfaces", "@sandbox", "mac"], value: "02:00:00:00:00:01" }], "MAC|02:00:00:00:00:01"],
  ["an interface name that is not there", [{ path: ["interfaces", "@sandbox", "name"], value: "eth9" }], "eth0|interface"],
  ["a route the container lacks", [{ path: ["routes"], value: [{ dst: "10.200.0.0/16" }] }], "route|10.200.0.0"],
  ["an MTU the link lacks", [{ path: ["interfaces", "@sandbox", "mtu"], value: 1234 }], "MTU|1234"],
];
for (const [what, patch, pattern] of KERNEL_MISMATCH) {
  for (const plugin of ATTACHING) {
    cases.push({
      description: `CHECK with prevResult that has ${what}`,
      plugin,
      command: "CHECK",
      env: {},
      setupStdin: JSON.stringify(CONFIG[plugin]),
      prevResultPatch: patch,
      stdin: JSON.stringify({ ...CONFIG[plugin], prevResult: "@PREVRESULT@" }),
      expectedCode: 104,
      expectedMessagePattern: pattern,
    });
  }
}

const dir = __dirname;
for (const file of fs.readdirSync(dir)) if (/^\d{3}-.*\.json$/.test(file)) fs.unlinkSync(path.join(dir, file));
cases.forEach((entry, index) => {
  const slug = `${entry.plugin}-${entry.description}`.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
  fs.writeFileSync(path.join(dir, `${String(index).padStart(3, "0")}-${slug}.json`), `${JSON.stringify(entry, null, 2)}\n`);
});
console.log(`wrote ${cases.length} cases to ${dir}`);
