// Overlay membership for a lab (`cnikit lab up` with membership "etcd"): one etcd member
// in a namespace of its own on the underlay, the network's pool stored in it, and an
// agent per host. All of them outlive `lab up` (own session, logs in the lab's state
// directory); `lab down` stops them by the pids recorded here and removes their data.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type CertPair, type EtcdCertificates, makeEtcdCertificates } from "./etcd-certs";
import { EtcdMember, stopByPid } from "./etcd-member";
import { readSubnetFile, writeFileAtomic } from "./files";
import type { PoolConfigJson } from "./pool";

export interface LabMembershipSpec {
  /** The overlay network's name in etcd. */
  network: string;
  /** The lab's state directory: etcd's data and every log and agent file go below it. */
  stateDir: string;
  /** The etcd member's namespace (on the underlay) and its underlay address. */
  etcd: { netnsPath: string; address: string };
  pool: PoolConfigJson;
  vni: number;
  mode: "l2" | "l3";
  bridge?: string;
  /** `preferredSubnet`: asked for first (the lab's planned slice), through the agent's own "previous subnet" file. */
  hosts: ReadonlyArray<{ name: string; netnsPath: string; underlayAddress: string; preferredSubnet?: string }>;
  /** argv prefix that runs cnikit (src/cli/self.ts selfCommand()). */
  cnikit: readonly string[];
  ttlSeconds?: number;
  /** etcd serves TLS only and requires client certificates: one per agent, one for the admin commands. */
  tls?: boolean;
}

export interface LabMembershipState {
  endpoint: string;
  etcdPid: number;
  etcdDataDir: string;
  /** With TLS: the lab's CA, certificates and keys (removed with etcd's data). */
  tlsDir?: string;
  /** Agent pid by host name. */
  agents: Record<string, number>;
}

/** Where the agent of `host` keeps its files: what the host's network config names. */
export function labHostFiles(stateDir: string, host: string): { peersFile: string; subnetFile: string; log: string } {
  const dir = path.join(stateDir, host, "overlay");
  return {
    peersFile: path.join(dir, "peers.json"),
    subnetFile: path.join(dir, "subnet.json"),
    log: path.join(dir, "agent.log"),
  };
}

function runCnikit(spec: LabMembershipSpec, netnsPath: string, args: string[]): void {
  const [command, ...prefix] = ["nsenter", `--net=${netnsPath}`, ...spec.cnikit, ...args];
  const result = spawnSync(command, prefix, { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) throw new Error(`cnikit ${args.slice(0, 2).join(" ")} failed: ${result.stderr.trim()}`);
}

/** The overlay commands' flags for a client certificate of the lab's CA. */
function tlsFlags(certs: EtcdCertificates | undefined, pair: CertPair | undefined): string[] {
  if (!certs || !pair) return [];
  return ["--etcd-cacert", certs.caFile, "--etcd-cert", pair.certFile, "--etcd-key", pair.keyFile];
}

export async function startLabMembership(
  spec: LabMembershipSpec,
  progress: (line: string) => void,
): Promise<LabMembershipState> {
  const etcdDataDir = path.join(spec.stateDir, "etcd", "data");
  const tlsDir = path.join(spec.stateDir, "etcd", "tls");
  const certs = spec.tls
    ? makeEtcdCertificates(tlsDir, {
        serverAddress: spec.etcd.address,
        clients: ["admin", ...spec.hosts.map((host) => `agent-${host.name}`)],
      })
    : undefined;
  const member = await EtcdMember.start({
    netnsPath: spec.etcd.netnsPath,
    address: spec.etcd.address,
    dataDir: etcdDataDir,
    logFile: path.join(spec.stateDir, "etcd", "etcd.log"),
    detached: true,
    ...(certs && { tls: { caFile: certs.caFile, ...certs.server } }),
  });
  const state: LabMembershipState = {
    endpoint: member.endpoint,
    etcdPid: member.detachedProcessId ?? 0,
    etcdDataDir,
    ...(certs && { tlsDir }),
    agents: {},
  };
  progress(`+ etcd ${member.endpoint} (pid ${state.etcdPid}${certs ? ", TLS client certificates required" : ""})`);
  runCnikit(spec, spec.etcd.netnsPath, [
    "overlay",
    "config",
    "--etcd",
    member.endpoint,
    "--network",
    spec.network,
    "--set",
    JSON.stringify(spec.pool),
    "--force",
    ...tlsFlags(certs, certs?.clients.admin),
  ]);
  for (const host of spec.hosts) {
    const files = labHostFiles(spec.stateDir, host.name);
    fs.mkdirSync(path.dirname(files.log), { recursive: true });
    if (host.preferredSubnet)
      writeFileAtomic(files.subnetFile, JSON.stringify({ subnet: host.preferredSubnet, hostId: host.name }));
    const log = fs.openSync(files.log, "a");
    const args = [
      ...["overlay", "agent", "--etcd", member.endpoint, "--network", spec.network],
      ...["--host-id", host.name, "--underlay-address", host.underlayAddress],
      ...["--peers-file", files.peersFile, "--subnet-file", files.subnetFile, "--ttl", String(spec.ttlSeconds ?? 10)],
      ...["--vni", String(spec.vni), "--mode", spec.mode, ...(spec.bridge ? ["--bridge", spec.bridge] : [])],
      ...tlsFlags(certs, certs?.clients[`agent-${host.name}`]),
    ];
    const agent = spawn("nsenter", [`--net=${host.netnsPath}`, ...spec.cnikit, ...args], {
      detached: true,
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    agent.unref();
    state.agents[host.name] = agent.pid ?? 0;
    progress(`+ overlay agent on ${host.name} (pid ${agent.pid})`);
  }
  // The plugin needs the agent's subnetFile (with the MTU) at the first ADD: wait for every lease.
  const deadline = Date.now() + 15_000;
  for (const host of spec.hosts) {
    const { subnetFile, log } = labHostFiles(spec.stateDir, host.name);
    while (readSubnetFile(subnetFile)?.mtu === undefined) {
      if (Date.now() > deadline) throw new Error(`the agent on ${host.name} leased no subnet (see ${log})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return state;
}

async function gone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (fs.existsSync(`/proc/${pid}`) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Stops the agents (no revocation needed: etcd goes too), then etcd, and removes etcd's data. */
export async function stopLabMembership(state: LabMembershipState, progress: (line: string) => void): Promise<void> {
  const stopped: number[] = [];
  for (const [host, pid] of Object.entries(state.agents)) {
    if (stopByPid(pid, "overlay")) {
      stopped.push(pid);
      progress(`- overlay agent on ${host}`);
    }
  }
  await Promise.all(stopped.map((pid) => gone(pid, 3_000)));
  if (stopByPid(state.etcdPid, "etcd")) {
    await gone(state.etcdPid, 5_000);
    progress(`- etcd ${state.endpoint}`);
  }
  fs.rmSync(state.etcdDataDir, { recursive: true, force: true });
  if (state.tlsDir) fs.rmSync(state.tlsDir, { recursive: true, force: true });
}
