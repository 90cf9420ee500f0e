// Our bridge (+ our host-local) chained with the Go reference `tuning` and `portmap`, as a
// runtime runs a conflist: our CniRuntime drives the list inside a throwaway host namespace
// with CNI_PATH = dist/bin then /usr/lib/cni. tuning changes the container's interface,
// portmap DNATs a host port with iptables; a client namespace beyond the host connects to
// that port and reaches a server in the container. CHECK uses the cached result; DEL undoes all.
//
// The plugins get a PATH with the IPv4 iptables tools only, as on a host without ip6tables:
// the reference portmap (1.1.1) CHECK otherwise looks for its chain in the ip6tables nat
// table too, which an IPv4-only attachment never gets (containernetworking/plugins#819).
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, nsExec } from "../../../netns-fixtures";
import { CniRuntime, type RuntimeConf } from "../../../src/cni/runtime/runtime";
import { distBin } from "../../helpers/exec";
import { linkOutside, tcpExchange } from "./beyond-host";
import { REFERENCE_DIR, addressesOf, leases, linkNamed, sysctlIn, useTestbed, vethNames } from "./harness";

const haveChainPlugins = ["tuning", "portmap"].every((plugin) => fs.existsSync(path.join(REFERENCE_DIR, plugin)));
const { fixture, dataDir } = useTestbed("chain");
const HOST_ADDRESS = "198.18.64.1";
const TUNED_MAC = "0a:58:0a:40:00:99";
const HOST_PORT = 18_080;
const CONTAINER_PORT = 8_000;

const networkList = {
  cniVersion: "1.0.0",
  name: "chainnet",
  plugins: [
    {
      type: "bridge",
      bridge: "ckchain0",
      isGateway: true,
      isDefaultGateway: true,
      ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.64.0.0/24" }]] },
    },
    { type: "tuning", mtu: 1400, mac: TUNED_MAC, sysctl: { "net.ipv4.conf.eth0.arp_ignore": "1" } },
    { type: "portmap", capabilities: { portMappings: true } },
  ],
};

let host: Netns;
let client: Netns;
let ctr: Netns;
let rt: RuntimeConf;
let runtime: CniRuntime;

beforeAll(() => {
  host = fixture.hostNetns();
  client = fixture.createNetns("client");
  linkOutside({ host, hostAddress: HOST_ADDRESS, outside: client, outsideAddress: "198.18.64.2" });
  ctr = fixture.containerNetns();
  rt = {
    containerId: "chain-ctr",
    netns: ctr.path,
    ifName: "eth0",
    capabilityArgs: { portMappings: [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: "tcp" }] },
  };
  runtime = new CniRuntime({
    pluginPaths: [distBin, REFERENCE_DIR],
    cacheDir: path.join(dataDir, "cache"),
    env: { PATH: ipv4ToolsDir() },
    commandPrefix: ["/usr/bin/nsenter", `--net=${host.path}`],
  });
});

/** A directory holding only the IPv4 iptables tools (links to the system's). */
function ipv4ToolsDir(): string {
  const dir = path.join(dataDir, "ipv4-tools");
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of ["iptables", "iptables-save", "iptables-restore"])
    fs.symlinkSync(path.join("/usr/sbin", tool), path.join(dir, tool));
  return dir;
}

/** The host namespace's NAT rules that mention the port mapping (portmap's DNAT). */
function dnatRules(): string[] {
  const run = nsExec(host, ["iptables-save", "-t", "nat"]);
  if (run.status !== 0) throw new Error(`iptables-save in ${host.name}: ${run.stderr}`);
  return run.stdout.split("\n").filter((line) => line.includes("DNAT") && line.includes(`--dport ${HOST_PORT}`));
}

/** portmap's chains (CNI-DN-<hash>) in the host namespace. */
function portmapChains(): string[] {
  return nsExec(host, ["iptables-save", "-t", "nat"])
    .stdout.split("\n")
    .filter((line) => /^:CNI-DN-/.test(line));
}

describe.skipIf(!haveChainPlugins)("bridge + host-local, then reference tuning and portmap (cniVersion 1.0.0)", () => {
  let containerAddress: string;

  it("ADD runs the chain; the result carries tuning's MAC", async () => {
    const result = await runtime.addNetworkList(networkList, rt);
    containerAddress = result.ips?.[0]?.address.split("/")[0] ?? "";
    expect(containerAddress).toMatch(/^10\.64\.0\.\d+$/);
    expect(result.interfaces?.map((iface) => iface.name)).toEqual(["ckchain0", expect.stringMatching(/^veth/), "eth0"]);
    expect(result.interfaces?.[2]).toMatchObject({ mac: TUNED_MAC, sandbox: ctr.path });
  });

  it("tuning's changes are in the container: mtu, MAC, sysctl", () => {
    expect(linkNamed(ctr, "eth0")).toMatchObject({ mtu: 1400, address: TUNED_MAC });
    expect(sysctlIn(ctr, "ipv4/conf/eth0/arp_ignore")).toBe("1");
    expect(addressesOf(ctr, "eth0")).toEqual([`${containerAddress}/24`]);
  });

  it("portmap's DNAT rule is in the host namespace's ruleset, pointing at the container", () => {
    const rules = dnatRules();
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.join("\n")).toContain(`--to-destination ${containerAddress}:${CONTAINER_PORT}`);
  });

  it("a client beyond the host reaches a server in the container through the host port", async () => {
    const exchange = await tcpExchange({
      server: ctr,
      serverPort: CONTAINER_PORT,
      client,
      address: HOST_ADDRESS,
      port: HOST_PORT,
    });
    expect(exchange.answered, exchange.detail).toBe(true);
    // DNAT only: the container sees the client itself.
    expect(exchange.peerSeen).toBe("198.18.64.2");
  });

  it("CHECK passes with the cached prevResult", async () => {
    expect(runtime.cachedResult(networkList, rt)?.interfaces?.[2]?.mac).toBe(TUNED_MAC);
    await runtime.checkNetworkList(networkList, rt);
  });

  it("CHECK fails in our bridge when the container's MAC drifts from the cached (tuned) one", async () => {
    expect(nsExec(ctr, ["ip", "link", "set", "eth0", "address", "0a:58:0a:40:00:aa"]).status).toBe(0);
    await expect(runtime.checkNetworkList(networkList, rt)).rejects.toMatchObject({
      message: expect.stringContaining('plugin type="bridge" failed (check)'),
    });
    expect(nsExec(ctr, ["ip", "link", "set", "eth0", "address", TUNED_MAC]).status).toBe(0);
    await runtime.checkNetworkList(networkList, rt);
  });

  it("DEL removes the port mapping, both veth ends, the lease and the cache entry", async () => {
    await runtime.delNetworkList(networkList, rt);
    expect(dnatRules()).toEqual([]);
    expect(portmapChains()).toEqual([]);
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
    expect(vethNames(host)).toEqual(["up0"]);
    expect(leases(dataDir, "chainnet")).toEqual([]);
    expect(runtime.cachedResult(networkList, rt)).toBeUndefined();
    // DEL again, with nothing cached and nothing left: still success.
    await runtime.delNetworkList(networkList, rt);
  });
});
