// Looking into a running lab through the compiled executable: a lab whose topology sets
// a VXLAN port and VNI of its own (the VTEPs carry them, probes pass), `lab exec` in the
// right namespace, `probe` with no arguments, `capture` read back by tcpdump, and `lab
// events` reporting a container added while it runs. The lab lives in a private lab
// directory, so it is "the only lab up" whatever else runs on this machine.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, addrs } from "../../../netns-fixtures";
import { type BackgroundRun, startCnikit } from "./background-cli";
import { cnikit, cnikitOk, expectOneLineFailure } from "./run-cli";

interface PairReport {
  from: string;
  to: string;
  verdict: string;
}
interface LabEvent {
  netns: string;
  node: string;
  kind: string;
  action: string;
  ifname?: string;
  local?: string;
  dst?: string;
  master?: string;
}

const VNI = 4242;
const VXLAN_PORT = 8999;
const fixture = new NetnsFixture();
const lab = `${fixture.prefix}ob`;
fs.mkdirSync("/run/cnikit", { recursive: true });
const labDir = fs.mkdtempSync("/run/cnikit/test-labs-");
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-observe-"));
const env = { CNIKIT_LAB_DIR: labDir };
const background: BackgroundRun[] = [];

function run(args: string[]): ReturnType<typeof cnikit> {
  return cnikit(args, { env });
}

function start(args: string[]): BackgroundRun {
  const started = startCnikit(args, env);
  background.push(started);
  return started;
}

beforeAll(() => {
  const topology = path.join(workDir, "topology.yaml");
  fs.writeFileSync(
    topology,
    `name: ${lab}\nnetwork: { vni: ${VNI}, vxlanPort: ${VXLAN_PORT} }\nhosts: 2\ncontainersPerHost: 1\n`,
  );
  const up = run(["lab", "up", "--quiet", topology]);
  if (up.status !== 0) throw new Error(`lab up failed: ${up.stderr}`);
});

afterAll(async () => {
  try {
    // Our background runs first: their sockets would keep the lab's namespaces alive.
    // SIGTERM: a capture passes it on to its tcpdump and waits for it.
    await Promise.all(background.map((each) => each.stop("SIGTERM")));
    run(["lab", "down", "--quiet", lab]);
  } finally {
    fixture.cleanup();
    for (const dir of [labDir, workDir]) fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("a lab with its own VXLAN port and VNI", () => {
  it("has VTEPs with that VNI and port in every host", () => {
    for (const host of ["h1", "h2"]) {
      const shown = spawnSync("ip", ["-n", `${lab}-${host}`, "-j", "-d", "link", "show", `vx${VNI}`], {
        encoding: "utf8",
      });
      expect(shown.status, shown.stderr).toBe(0);
      const [vtep] = JSON.parse(shown.stdout) as {
        linkinfo: { info_kind: string; info_data: { id: number; port: number } };
      }[];
      expect(vtep?.linkinfo).toMatchObject({ info_kind: "vxlan", info_data: { id: VNI, port: VXLAN_PORT } });
    }
  });

  it("probe with no arguments probes the only lab up, and every pair passes", () => {
    const probe = run(["probe", "--json", "--no-sizes"]);
    expect(probe.status, probe.stderr).toBe(0);
    const reports = JSON.parse(probe.stdout) as PairReport[];
    expect(reports.map((report) => [report.from, report.to, report.verdict])).toEqual([
      ["h1/c1", "h2/c1", "ok"],
      ["h2/c1", "h1/c1", "ok"],
    ]);
    const none = cnikit(["probe"], { env: { CNIKIT_LAB_DIR: "/nonexistent/cnikit-labs" } });
    expect(expectOneLineFailure(none)).toMatch(/nothing to probe: no lab is up/);
  });
});

describe("cnikit lab exec", () => {
  it("runs the command in the node's namespace, with its exit status", () => {
    const container = JSON.parse(
      cnikitOk(["lab", "exec", "h2/c1", "--", "ip", "-j", "addr", "show", "dev", "eth0"], { env }),
    ) as { addr_info: { local: string }[] }[];
    expect(container[0]?.addr_info.map((info) => info.local)).toContain("10.10.2.2");
    const host = JSON.parse(
      cnikitOk(["lab", "exec", "--lab", lab, "h1", "--", "ip", "-j", "addr", "show", "dev", "ul0"], { env }),
    ) as { addr_info: { local: string }[] }[];
    expect(host[0]?.addr_info.map((info) => info.local)).toContain("198.18.0.1");
    expect(run(["lab", "exec", "h1", "--", "sh", "-c", "exit 3"]).status).toBe(3);
  });

  it("names the nodes there are when the node is unknown", () => {
    expect(expectOneLineFailure(run(["lab", "exec", "h9", "--", "true"]))).toMatch(
      new RegExp(`lab ${lab} has no node "h9" \\(nodes: h1, h2, h1/c1, h2/c1, underlay\\)`),
    );
    expect(expectOneLineFailure(run(["lab", "exec", "h1"]))).toMatch(/missing required argument 'command'/);
  });
});

describe("cnikit capture", () => {
  it("writes a pcap tcpdump reads back, streams one to stdout, and summarizes VXLAN's inner frames", async () => {
    const pcapFile = path.join(workDir, "h1-ul0.pcap");
    const toFile = start(["capture", "h1:ul0", "-w", pcapFile]);
    const toStdout = start(["capture", "h2/c1:eth0", "-w", "-", "--count", "4", "--filter", "udp"]);
    const summary = start(["capture", "h2:ul0", "--filter", `udp port ${VXLAN_PORT}`]);
    await Promise.all([toFile, toStdout, summary].map((each) => each.waitFor("stderr", /capture: listening on /)));
    expect(run(["probe", "--no-sizes"]).status).toBe(0);
    // The probe's last packets have crossed; give tcpdump a moment to take them off its ring.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await toFile.stop("SIGINT")).toBe(0);
    expect(await toStdout.exited).toBe(0);
    expect(await summary.stop("SIGTERM")).toBe(0);

    // tcpdump decodes our port as VXLAN when told to (-T vxlan): the probe's datagrams between the
    // containers inside. (-T applies to the inner UDP too, so that one is "VXLAN" as well.)
    const readBack = spawnSync("tcpdump", ["-n", "-r", pcapFile, "-T", "vxlan", `udp port ${VXLAN_PORT}`], {
      encoding: "utf8",
    });
    expect(readBack.status, readBack.stderr).toBe(0);
    expect(readBack.stdout).toMatch(
      new RegExp(
        `198\\.18\\.0\\.1\\.\\d+ > 198\\.18\\.0\\.2\\.${VXLAN_PORT}: VXLAN, flags \\[I\\] \\(0x08\\), vni ${VNI}\\nIP 10\\.10\\.1\\.2\\.\\d+ > 10\\.10\\.2\\.2\\.\\d+: `,
      ),
    );

    const streamed = spawnSync("tcpdump", ["-n", "-r", "-"], { input: toStdout.stdout(), encoding: "utf8" });
    expect(streamed.status, streamed.stderr).toBe(0);
    expect(streamed.stdout.trim().split("\n")).toHaveLength(4);
    expect(streamed.stdout).toMatch(/IP 10\.10\.1\.2\.\d+ > 10\.10\.2\.2\.\d+: UDP/);

    const summaryText = summary.stdout().toString("utf8");
    const lines = summaryText.trim().split("\n");
    // 3 datagrams and their answers per pair (and maybe ARP), each a line.
    expect(lines.length).toBeGreaterThanOrEqual(12);
    const outer = `IPv4 198\\.18\\.0\\.1\\.\\d+ > 198\\.18\\.0\\.2\\.${VXLAN_PORT} UDP length \\d+`;
    const inner =
      "([0-9a-f]{2}:){5}[0-9a-f]{2} > ([0-9a-f]{2}:){5}[0-9a-f]{2} IPv4 10\\.10\\.1\\.2\\.\\d+ > 10\\.10\\.2\\.2\\.\\d+ UDP";
    expect(summaryText).toMatch(
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{6} \\S+ > \\S+ ${outer} \\| vxlan vni ${VNI} \\| ${inner}`, "m"),
    );
    expect(summary.stderr()).toContain(`capture: ${lines.length} packets on h2:ul0`);
  });

  it("leaves no tcpdump behind when it is killed with SIGKILL", async () => {
    const capture = start(["capture", "h1:ul0", "-w", path.join(workDir, "killed.pcap")]);
    await capture.waitFor("stderr", /capture: listening on /);
    const inode = fs.statSync(`/run/netns/${lab}-h1`).ino;
    const tcpdumpsInH1 = (): number[] =>
      fs
        .readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .map(Number)
        .filter((pid) => {
          try {
            return (
              fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "tcpdump" &&
              fs.statSync(`/proc/${pid}/ns/net`).ino === inode
            );
          } catch {
            return false; // gone meanwhile, or not ours to read
          }
        });
    expect(tcpdumpsInH1().length).toBe(1);
    await capture.stop("SIGKILL");
    const deadline = Date.now() + 5000;
    while (tcpdumpsInH1().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(tcpdumpsInH1()).toEqual([]);
  });

  it("names a missing interface, and the namespace when there is no such node", () => {
    expect(expectOneLineFailure(run(["capture", "h1:ul9"]))).toMatch(/h1 has no interface ul9 \(it has lo, ul0, /);
    expect(expectOneLineFailure(run(["capture", `${fixture.prefix}none:eth0`]))).toMatch(
      /does not exist; nor a node of lab/,
    );
    expect(expectOneLineFailure(run(["capture", "h1"]))).toMatch(/want NODE:INTERFACE/);
  });
});

describe("cnikit lab events", () => {
  it("reports the link, address and route lines of a container added while it runs", async () => {
    const events = start(["lab", "events", "--json", "--timeout", "30"]);
    const text = start(["lab", "events", "--timeout", "30"]);
    await Promise.all([events, text].map((each) => each.waitFor("stderr", /watching 5 namespaces/)));
    const host = `${lab}-h1`;
    const ctrNetns = `${lab}-h1-x1`;
    cnikitOk(["netns", "add", ctrNetns]);
    // Seen on its own first, so what follows comes from the kernel's notifications.
    await events.waitFor("stdout", new RegExp(`"netns":"${ctrNetns}","kind":"netns","action":"new"`));
    await text.waitFor("stdout", new RegExp(`${ctrNetns} netns new`));
    const hostDir = path.join(labDir, lab, "h1");
    const attach = ["--host-netns", host, "--cache-dir", path.join(hostDir, "cache"), "--container-id", `${lab}-x1`];
    cnikitOk(["add", path.join(hostDir, "net.conflist"), ctrNetns, ...attach], { env });
    const address = addrs(ctrNetns)
      .find((link) => link.ifname === "eth0")
      ?.addr_info.find((info) => info.family === "inet");
    expect(address?.local).toMatch(/^10\.10\.1\.\d+$/);
    await events.waitFor(
      "stdout",
      new RegExp(`"netns":"${ctrNetns}".*"kind":"route","action":"new".*"dst":"10\\.10\\.0\\.0/16"`),
    );
    cnikitOk(["del", path.join(hostDir, "net.conflist"), ctrNetns, ...attach], { env });
    cnikitOk(["netns", "del", ctrNetns]);
    await events.waitFor("stdout", new RegExp(`"netns":"${ctrNetns}","kind":"netns","action":"del"`));
    await text.waitFor("stdout", new RegExp(`${ctrNetns} netns del`));
    expect(await events.stop("SIGTERM")).toBe(0);
    expect(await text.stop("SIGINT")).toBe(0);

    const lines = events
      .stdout()
      .toString("utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as LabEvent);
    const inContainer = lines.filter((event) => event.netns === ctrNetns);
    expect(inContainer).toContainEqual(expect.objectContaining({ kind: "link", action: "new", ifname: "eth0" }));
    expect(inContainer).toContainEqual(
      expect.objectContaining({ kind: "addr", action: "new", ifname: "eth0", local: `${address?.local}/16` }),
    );
    expect(inContainer).toContainEqual(
      expect.objectContaining({ kind: "route", action: "new", ifname: "eth0", dst: "10.10.0.0/16" }),
    );
    expect(inContainer).toContainEqual(
      expect.objectContaining({ kind: "addr", action: "del", ifname: "eth0", local: `${address?.local}/16` }),
    );
    // The host side: a veth enslaved to the lab's bridge, and its MAC in the bridge's FDB.
    const inHost = lines.filter((event) => event.node === "h1");
    expect(inHost).toContainEqual(expect.objectContaining({ kind: "link", action: "new", master: "lab0" }));
    expect(inHost).toContainEqual(expect.objectContaining({ kind: "fdb", action: "new", master: "lab0" }));

    const textLines = text.stdout().toString("utf8");
    const at = `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${ctrNetns}`;
    expect(textLines).toMatch(new RegExp(`${at} link  new eth0 veth mtu 1450 (up|down) \\S+ mac `, "m"));
    expect(textLines).toMatch(
      new RegExp(`${at} addr  new ${address?.local?.replace(/\./g, "\\.")}/16 dev eth0 scope global$`, "m"),
    );
    expect(textLines).toMatch(new RegExp(`${at} route new 10\\.10\\.0\\.0/16 dev eth0 proto kernel scope link$`, "m"));
  });

  it("stops after --count events, with text lines", async () => {
    const events = start(["lab", "events", "--count", "2", "--timeout", "20"]);
    await events.waitFor("stderr", /watching/);
    const host = `${lab}-h2`;
    // An underlay address on lo: one address line, then the local route the kernel adds for it.
    spawnSync("ip", ["-n", host, "addr", "add", "198.18.1.7/32", "dev", "lo"]);
    spawnSync("ip", ["-n", host, "addr", "del", "198.18.1.7/32", "dev", "lo"]);
    expect(await events.exited).toBe(0);
    const lines = events.stdout().toString("utf8").trim().split("\n");
    // A live lab has other changes going on (IPv6 DAD finishing...), so any two lines will do.
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \S+\s+(link|addr|route|neigh|fdb|netns)\s+(new|del) /);
  });
});
