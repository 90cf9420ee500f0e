// `cnikit lab up` with an IPv6 underlay (fd00:18::/64) and dual-stack containers chosen
// in the topology file, static peers and etcd membership (etcd over TLS with client
// certificates): the VTEPs run over IPv6, every container has both families, every pair
// probes ok over both, etcd refuses a client without a certificate, down leaves nothing;
// and bridge and veth labs on an IPv6 underlay (IPv4 slices routed via IPv6 gateways).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsFixture, addrs, fdb, links, routes } from "../../../netns-fixtures";
import { listNetnsNames } from "../../../netns-fixtures/ip";
import { cnikit, cnikitOk } from "./run-cli";

const fixture = new NetnsFixture();
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-lab6-"));
const labs = [`${fixture.prefix}s6`, `${fixture.prefix}e6`];

afterAll(() => {
  try {
    for (const lab of labs) cnikit(["lab", "down", "--quiet", lab]);
  } finally {
    fixture.cleanup();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

const globalAddresses = (netns: string, ifname: string): string[] =>
  (addrs(netns).find((link) => link.ifname === ifname)?.addr_info ?? [])
    .filter((info) => info.scope === "global")
    .map((info) => `${info.local}/${info.prefixlen}`);

for (const [lab, membership] of [
  [labs[0] as string, "static"],
  [labs[1] as string, "etcd"],
] as const) {
  describe(`cnikit lab on an IPv6 underlay, dual-stack containers, membership ${membership}`, () => {
    const topology = path.join(workDir, `${lab}.yaml`);
    let labTlsDir: string | undefined;
    fs.writeFileSync(
      topology,
      [
        `name: ${lab}`,
        "daemon: false",
        `membership: ${membership}`,
        ...(membership === "etcd" ? ["etcdTls: true"] : []),
        "hosts: 2",
        "containersPerHost: 1",
        "underlay:",
        "  subnet: fd00:18::/64",
        "network:",
        "  ipv6Subnet: fd10:10::/48",
        "",
      ].join("\n"),
    );

    it("comes up with VTEPs over IPv6 and containers of both families, and every pair probes ok", () => {
      const up = cnikit(["lab", "up", "--quiet", topology]);
      expect(up.status, up.stderr).toBe(0);
      for (const [index, host] of ["h1", "h2"].entries()) {
        const netns = `${lab}-${host}`;
        expect(globalAddresses(netns, "ul0")).toEqual([`fd00:18::${index + 1}/64`]);
        const vtep = links(netns).find((link) => link.linkinfo?.info_kind === "vxlan");
        expect(vtep?.linkinfo?.info_data).toMatchObject({ local6: `fd00:18::${index + 1}` });
        expect(vtep?.mtu).toBe(1430);
        const flood = fdb(netns, vtep?.ifname).filter((entry) => entry.mac === "00:00:00:00:00:00");
        expect(flood.map((entry) => entry.dst)).toEqual([`fd00:18::${2 - index}`]);
        const container = globalAddresses(`${lab}-${host}-c1`, "eth0");
        expect(container).toHaveLength(2);
        expect(container[0]).toMatch(/^10\.10\.\d+\.\d+\/16$/);
        expect(container[1]).toMatch(/^fd10:10:[0-9a-f:]+\/48$/);
      }
      const probe = cnikit(["probe", "--json", "--lab", lab]);
      expect(probe.status, probe.stdout).toBe(0);
      const reports = JSON.parse(probe.stdout) as Array<{ verdict: string; from: string; to: string; address: string }>;
      // Both families of the dual-stack containers, each pair both ways: 2 containers, 4 probes.
      const byFamily = (family: 4 | 6) => reports.filter((report) => report.address.includes(":") === (family === 6));
      expect(byFamily(4)).toHaveLength(2);
      expect(byFamily(6)).toHaveLength(2);
      for (const report of byFamily(6))
        expect([report.from, report.to].every((name) => name.endsWith(" (IPv6)"))).toBe(true);
      for (const report of byFamily(4)) expect(`${report.from} ${report.to}`).not.toContain("IPv6");
      expect(reports.filter((report) => report.verdict !== "ok")).toEqual([]);
    });

    if (membership === "etcd")
      it("runs etcd over TLS: the lab's admin certificate lists both hosts, no certificate is refused", () => {
        const state = JSON.parse(fs.readFileSync(`/run/cnikit/labs/${lab}.json`, "utf8")) as {
          membership: { endpoint: string; tlsDir: string };
        };
        const { endpoint, tlsDir } = state.membership;
        expect(endpoint).toMatch(/^https:\/\/\[fd00:18::/);
        const leases = ["overlay", "leases", "--json", "--etcd", endpoint, "--network", `${lab}-net`];
        const inEtcd = { inNetns: `/run/netns/${lab}-etcd` };
        const certs = ["--etcd-cacert", `${tlsDir}/ca.pem`, "--etcd-cert", `${tlsDir}/admin.pem`];
        const listed = cnikitOk([...leases, ...certs, "--etcd-key", `${tlsDir}/admin.key`], inEtcd);
        expect((JSON.parse(listed) as unknown[]).length).toBe(2);
        const refused = cnikit([...leases, "--etcd-cacert", `${tlsDir}/ca.pem`], inEtcd);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/certificate/i);
        labTlsDir = tlsDir;
      });

    it("down leaves no namespace behind", () => {
      cnikitOk(["lab", "down", "--quiet", lab]);
      expect(listNetnsNames().filter((name) => name.startsWith(`${lab}-`))).toEqual([]);
      // The lab CA's keys go with it.
      if (labTlsDir !== undefined) expect(fs.existsSync(labTlsDir)).toBe(false);
    });
  });
}

// bridge and veth labs on an IPv6 underlay: each host's IPv4 slice is routed via the other
// host's IPv6 underlay address (RTA_VIA, RFC 5549), and IPv4 containers reach each other.
for (const plugin of ["bridge", "veth"] as const) {
  const lab = `${fixture.prefix}${plugin === "bridge" ? "b6" : "v6"}`;
  labs.push(lab);
  describe(`cnikit lab with plugin ${plugin} on an IPv6 underlay`, () => {
    const topology = path.join(workDir, `${lab}.yaml`);
    fs.writeFileSync(
      topology,
      [
        `name: ${lab}`,
        `plugin: ${plugin}`,
        "daemon: false",
        "hosts: 2",
        "containersPerHost: 1",
        "underlay:",
        "  subnet: fd00:18::/64",
        "",
      ].join("\n"),
    );

    it("routes each host's IPv4 slice via the other's IPv6 underlay address, and every pair probes ok", () => {
      const up = cnikit(["lab", "up", "--quiet", topology]);
      expect(up.status, up.stderr).toBe(0);
      for (const [index, host] of ["h1", "h2"].entries()) {
        const netns = `${lab}-${host}`;
        expect(globalAddresses(netns, "ul0")).toEqual([`fd00:18::${index + 1}/64`]);
        const viaOther = ipRoutes(netns).filter((route) => route.via?.host === `fd00:18::${2 - index}`);
        expect(viaOther).toHaveLength(1);
        expect(viaOther[0]?.via?.family).toBe("inet6");
        expect(viaOther[0]?.dst).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
        expect(globalAddresses(`${lab}-${host}-c1`, "eth0")[0]).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
      }
      const probe = cnikit(["probe", "--json", "--lab", lab]);
      expect(probe.status, probe.stdout).toBe(0);
      const reports = JSON.parse(probe.stdout) as Array<{ verdict: string; address: string }>;
      expect(reports).toHaveLength(2);
      expect(reports.filter((report) => report.verdict !== "ok")).toEqual([]);
    });

    it("down leaves no namespace behind", () => {
      cnikitOk(["lab", "down", "--quiet", lab]);
      expect(listNetnsNames().filter((name) => name.startsWith(`${lab}-`))).toEqual([]);
    });
  });
}

/** The IPv4 routes of a namespace as ip -j shows them (an IPv6 gateway is "via": {family, host}). */
function ipRoutes(netns: string): Array<{ dst: string; via?: { family: string; host: string } }> {
  return routes(netns, 4) as Array<{ dst: string; via?: { family: string; host: string } }>;
}
