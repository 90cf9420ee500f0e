// The overlay commands against an etcd that requires TLS client certificates
// (--client-cert-auth), with certificates made by openssl in the test: the right ones
// work for `overlay config`, `overlay leases` and the agent; a client certificate of
// another CA, none at all, or a CA that did not sign etcd's certificate are a one-line
// error within seconds, and the agent exits instead of retrying forever. Flags that
// cannot work (certificates for http://, a key of another certificate) are refused
// before any connection. etcd's own user/password auth is tested on a second, plain etcd.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost } from "../../../netns-fixtures";
import { type EtcdCertificates, makeEtcdCertificates } from "../../../overlay/membership/etcd-certs";
import { EtcdMember } from "../../../overlay/membership/etcd-member";
import { AgentProcess, overlayCli, waitFor } from "./agents";

const NETWORK = "tlsnet";
const fixture = new NetnsFixture();
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-etcd-tls-"));
let etcdHost: UnderlayHost;
let authEtcdHost: UnderlayHost;
let host: UnderlayHost;
let etcd: EtcdMember;
let good: EtcdCertificates;
let rogue: EtcdCertificates;
const agents: AgentProcess[] = [];

const tlsFlags = (ca: string, pair?: { certFile: string; keyFile: string }): string[] => [
  ...["--etcd-cacert", ca],
  ...(pair ? ["--etcd-cert", pair.certFile, "--etcd-key", pair.keyFile] : []),
];

function timedCli(args: string[]): { status: number | null; stderr: string; stdout: string; ms: number } {
  const started = Date.now();
  const run = overlayCli(host, args);
  return { ...run, ms: Date.now() - started };
}

beforeAll(async () => {
  const all = fixture.underlay({ hosts: 3 });
  etcdHost = all[0] as UnderlayHost;
  host = all[1] as UnderlayHost;
  authEtcdHost = all[2] as UnderlayHost;
  good = makeEtcdCertificates(path.join(stateDir, "good"), {
    serverAddress: etcdHost.address,
    clients: ["agent", "admin"],
  });
  rogue = makeEtcdCertificates(path.join(stateDir, "rogue"), { serverAddress: etcdHost.address, clients: ["agent"] });
  etcd = await EtcdMember.start({
    netnsPath: etcdHost.path,
    address: etcdHost.address,
    dataDir: path.join(stateDir, "etcd"),
    logFile: path.join(stateDir, "etcd.log"),
    tls: { caFile: good.caFile, certFile: good.server.certFile, keyFile: good.server.keyFile },
  });
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop("SIGKILL")));
  await etcd?.stop({ removeData: true });
  fixture.cleanup();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("overlay commands and agent against etcd with TLS client certificates", () => {
  it("serves https:// only", () => {
    expect(etcd.endpoint).toBe(`https://${etcdHost.address}:2379`);
  });

  it("stores the pool and lists leases with the right certificates", () => {
    const pool = JSON.stringify({ network: "10.50.0.0/16", subnetLen: 24 });
    const flags = tlsFlags(good.caFile, good.clients.admin);
    const set = timedCli(["config", "--etcd", etcd.endpoint, "--network", NETWORK, "--set", pool, ...flags]);
    expect(set.stderr).toBe("");
    expect(set.status).toBe(0);
    const leases = timedCli(["leases", "--etcd", etcd.endpoint, "--network", NETWORK, "--json", ...flags]);
    expect(leases.status, leases.stderr).toBe(0);
    expect(JSON.parse(leases.stdout)).toEqual([]);
  });

  it.each([
    [
      "a client certificate of another CA",
      () => tlsFlags(good.caFile, rogue.clients.agent),
      /TLS .*failed: .*certificate/i,
    ],
    ["no client certificate", () => tlsFlags(good.caFile), /TLS .*failed: .*certificate/i],
    ["a CA that did not sign etcd's certificate", () => tlsFlags(rogue.caFile, good.clients.admin), /certificate/i],
  ])("refuses %s with one line within seconds", (_name, flags, message) => {
    const run = timedCli(["leases", "--etcd", etcd.endpoint, "--network", NETWORK, ...flags()]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.ms).toBeLessThan(15_000);
  });

  it.each([
    [
      "certificates for an http:// endpoint",
      () => ["--etcd", `http://${etcdHost.address}:2379`, ...tlsFlags(good.caFile, good.clients.admin)],
      /--etcd: http:\/\/.* is not https:\/\//,
    ],
    [
      "a key of another certificate",
      () => [
        "--etcd",
        etcd.endpoint,
        ...tlsFlags(good.caFile),
        "--etcd-cert",
        good.clients.admin?.certFile ?? "",
        "--etcd-key",
        good.clients.agent?.keyFile ?? "",
      ],
      /--etcd-key: .* is not the key of the certificate/,
    ],
    [
      "a certificate without its key",
      () => ["--etcd", etcd.endpoint, "--etcd-cert", good.clients.admin?.certFile ?? ""],
      /--etcd-cert: needs --etcd-key too/,
    ],
    [
      "a CA file that is missing",
      () => ["--etcd", etcd.endpoint, "--etcd-cacert", path.join(stateDir, "absent.pem")],
      /--etcd-cacert: cannot read .*ENOENT/,
    ],
    [
      "a user without a password",
      () => ["--etcd", etcd.endpoint, "--etcd-user", "root"],
      /--etcd-user: needs --etcd-password or --etcd-password-file too/,
    ],
  ])("refuses %s before connecting", (_name, args, message) => {
    const run = timedCli(["leases", "--network", NETWORK, ...args()]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.ms).toBeLessThan(5_000);
  });

  it("an agent with the right certificates leases a subnet and lists itself", async () => {
    const agent = new AgentProcess({
      host,
      endpoint: etcd.endpoint,
      network: NETWORK,
      stateDir: path.join(stateDir, "agents"),
      extraArgs: tlsFlags(good.caFile, good.clients.agent),
    });
    agents.push(agent);
    await waitFor("the agent's lease", () => agent.peers()?.length === 1, 30_000); // generous: returns as soon as it holds
    expect(agent.peers()).toEqual([host.address]);
    expect(agent.subnet()?.subnet).toMatch(/^10\.50\.\d+\.0\/24$/);
    const flags = tlsFlags(good.caFile, good.clients.admin);
    const leases = timedCli(["leases", "--etcd", etcd.endpoint, "--network", NETWORK, "--json", ...flags]);
    expect((JSON.parse(leases.stdout) as Array<{ underlayAddress: string }>).map((l) => l.underlayAddress)).toEqual([
      host.address,
    ]);
  });

  it("an agent with a certificate etcd refuses exits 1 within seconds, saying why", async () => {
    const agent = new AgentProcess({
      host,
      endpoint: etcd.endpoint,
      network: NETWORK,
      stateDir: path.join(stateDir, "rogue-agent"),
      extraArgs: tlsFlags(good.caFile, rogue.clients.agent),
    });
    agents.push(agent);
    const ms = await waitFor("the agent to exit", () => !agent.running, 15_000);
    expect((await agent.stop()).code).toBe(1);
    expect(agent.log).toMatch(/TLS .*failed: .*certificate/i);
    expect(agent.subnet()).toBeUndefined();
    expect(ms).toBeLessThan(15_000);
  });
});

// Turns on etcd's auth with a root user, from inside the etcd's namespace (etcd3 from node).
const ENABLE_AUTH = `
const { Etcd3 } = require("etcd3");
const client = new Etcd3({ hosts: process.argv[1] });
(async () => {
  await client.role("root").create();
  await (await client.user("root").create(process.argv[2])).addRole("root");
  await client.auth.authEnable({});
  client.close();
})().catch((err) => { console.error(String(err)); process.exit(1); });
`;

describe("overlay commands and agent against etcd with user/password auth", () => {
  let authEtcd: EtcdMember;
  const password = "s3cret-pw";

  beforeAll(async () => {
    authEtcd = await EtcdMember.start({
      netnsPath: authEtcdHost.path,
      address: authEtcdHost.address,
      dataDir: path.join(stateDir, "auth-etcd"),
    });
    const enable = spawnSync(
      "nsenter",
      [`--net=${authEtcdHost.path}`, process.execPath, "-e", ENABLE_AUTH, authEtcd.endpoint, password],
      { encoding: "utf8", timeout: 20_000, cwd: path.resolve(__dirname, "../../..") },
    );
    expect(enable.status, enable.stderr).toBe(0);
  });

  afterAll(async () => {
    await authEtcd?.stop({ removeData: true });
  });

  it("works with the right user and password, and refuses a wrong password or none within seconds", () => {
    const base = ["--etcd", authEtcd.endpoint, "--network", NETWORK];
    const pool = JSON.stringify({ network: "10.51.0.0/16", subnetLen: 24 });
    const set = timedCli(["config", ...base, "--set", pool, "--etcd-user", "root", "--etcd-password", password]);
    expect(set.stderr).toBe("");
    expect(set.status).toBe(0);
    const wrong = timedCli(["leases", ...base, "--etcd-user", "root", "--etcd-password", "wrong"]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/authentication failed/i);
    expect(wrong.ms).toBeLessThan(15_000);
    const none = timedCli(["leases", ...base]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/user name is empty|permission denied/i);
    expect(none.ms).toBeLessThan(15_000);
  });

  it("an agent with the user and password leases a subnet", async () => {
    const agent = new AgentProcess({
      host,
      endpoint: authEtcd.endpoint,
      network: NETWORK,
      stateDir: path.join(stateDir, "auth-agent"),
      extraArgs: ["--etcd-user", "root", "--etcd-password", password],
    });
    agents.push(agent);
    await waitFor("the agent's lease", () => agent.peers()?.length === 1, 30_000); // generous: returns as soon as it holds
    expect(agent.subnet()?.subnet).toMatch(/^10\.51\.\d+\.0\/24$/);
  });

  it("an agent with --etcd-password-file leases a subnet, and its command line holds no password", async () => {
    // The same host as the agent before: that one stops first (its lease is taken over, same host id).
    await Promise.all(agents.map((running) => running.stop()));
    const passwordFile = path.join(stateDir, "etcd-password");
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    const agent = new AgentProcess({
      host,
      endpoint: authEtcd.endpoint,
      network: NETWORK,
      stateDir: path.join(stateDir, "auth-agent-file"),
      extraArgs: ["--etcd-user", "root", "--etcd-password-file", passwordFile],
    });
    agents.push(agent);
    await waitFor("the agent's lease", () => agent.subnet()?.subnet !== undefined, 30_000); // generous: returns as soon as it holds
    expect(agent.subnet()?.subnet).toMatch(/^10\.51\.\d+\.0\/24$/);
    const commandLine = fs.readFileSync(`/proc/${agent.pid}/cmdline`, "utf8");
    expect(commandLine).toContain("--etcd-password-file");
    expect(commandLine).not.toContain(password);
    const wrongFile = path.join(stateDir, "wrong-password");
    fs.writeFileSync(wrongFile, "wrong\n");
    const wrong = timedCli([
      "leases",
      "--etcd",
      authEtcd.endpoint,
      "--network",
      NETWORK,
      "--etcd-user",
      "root",
      "--etcd-password-file",
      wrongFile,
    ]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/authentication failed/i);
  });
});
