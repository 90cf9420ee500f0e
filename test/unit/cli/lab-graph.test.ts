// `cnikit lab graph` without a kernel: the model from recorded state, the deterministic
// layout, the page's markup (escaped, self-contained, its CSP matching its inline blocks)
// and the probe matrix's colours. The browser test is test/integration/cli/lab-graph.test.ts.
import * as crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { type GraphModel, type ObserveLink, buildGraphModel } from "../../../src/cli/lab/graph/model";
import { fitText } from "../../../src/cli/lab/graph/html";
import { layoutGraph } from "../../../src/cli/lab/graph/layout";
import { renderGraphPage } from "../../../src/cli/lab/graph/page";
import type { ImpairStore } from "../../../src/cli/lab/impair/store";
import { planLab } from "../../../src/cli/lab/plan";
import type { LabProbeRecord } from "../../../src/cli/lab/probe-record";
import type { LabState } from "../../../src/cli/lab/state";
import { normalizeTopology } from "../../../src/cli/lab/topology";
import type { PairReport } from "../../../src/cli/probe/report";

function labState(input: object = {}): LabState {
  const topology = normalizeTopology({ name: "demo", hosts: 2, containersPerHost: 2, ...input });
  const plan = planLab(topology);
  const addresses = Object.fromEntries(
    plan.containers.map((container, index) => [container.label, [`10.10.${container.host.slice(1)}.${index + 2}/16`]]),
  );
  return { version: 1, createdAt: "2024-01-01T00:00:00.000Z", topology, plan, addresses };
}

const everythingUp: ObserveLink = (_netns, ifName) => ({ mtu: ifName === "ul0" ? 1500 : 1450, running: true });

function report(from: string, to: string, verdict: PairReport["verdict"], explanation = "fine"): PairReport {
  return {
    from,
    to,
    address: "10.10.1.2",
    verdict,
    explanation,
    sent: 3,
    received: verdict === "unreachable" ? 0 : 3,
    ...(verdict !== "unreachable" && { rttMs: { min: 0.1, avg: 0.25, max: 0.4 } }),
  };
}

/** Every ordered pair of the state's containers, failing those that involve `broken`. */
function probeOf(state: LabState, broken?: string): LabProbeRecord {
  const labels = state.plan.containers.map((container) => container.label);
  const reports = labels.flatMap((from) =>
    labels
      .filter((to) => to !== from)
      .map((to) => report(from, to, from === broken || to === broken ? "unreachable" : "ok")),
  );
  return { version: 1, lab: state.plan.name, probedAt: "2024-01-01T00:01:00.000Z", reports };
}

const store = (links: ImpairStore["links"]): ImpairStore => ({ version: 1, links, generation: 1 });

describe("lab graph model", () => {
  it("has every host and container with its link, addresses and MTU from the kernel", () => {
    const model = buildGraphModel({ state: labState(), observe: everythingUp });
    expect(
      model.hosts.map((host) => [host.name, host.link.target, host.link.addresses, host.link.mtu, host.link.state]),
    ).toEqual([
      ["h1", "h1", ["198.18.0.1/24"], 1500, "up"],
      ["h2", "h2", ["198.18.0.2/24"], 1500, "up"],
    ]);
    expect(
      model.containers.map((container) => [
        container.label,
        container.link.ifName,
        container.link.mtu,
        container.health,
      ]),
    ).toEqual([
      ["h1/c1", "eth0", 1450, "unprobed"],
      ["h1/c2", "eth0", 1450, "unprobed"],
      ["h2/c1", "eth0", 1450, "unprobed"],
      ["h2/c2", "eth0", 1450, "unprobed"],
    ]);
    expect(model.overlay).toEqual({ vni: 42, port: 4789 });
    expect(model.probe).toBeUndefined();
  });

  it("takes impairments and link-down from the impairment store, missing links from the kernel", () => {
    const impairments = store({
      h1: {
        target: "h1",
        netns: "demo-h1",
        ifName: "ul0",
        impairment: { delayMs: 20, lossPercent: 1 },
        mechanisms: {},
      },
      "h1/c1": { target: "h1/c1", netns: "demo-h1-c1", ifName: "eth0", impairment: {}, mechanisms: {}, down: true },
      "h2:lab0": {
        target: "h2:lab0",
        netns: "demo-h2",
        ifName: "lab0",
        impairment: { rateBitsPerSecond: 10e6 },
        mechanisms: {},
      },
    });
    const observe: ObserveLink = (netns, ifName) => (netns === "demo-h2-c2" ? undefined : everythingUp(netns, ifName));
    const model = buildGraphModel({ state: labState(), impairments, observe });
    expect(model.hosts[0]?.link.impairments).toEqual(["delay 20ms", "loss 1%"]);
    expect(model.containers.map((container) => container.link.state)).toEqual(["down", "up", "up", "missing"]);
    expect(model.otherLinks.map((link) => [link.target, link.impairments])).toEqual([["h2:lab0", ["rate 10mbit"]]]);
  });

  it("says which containers' pairs failed in the last probe", () => {
    const state = labState();
    const model = buildGraphModel({ state, probe: probeOf(state, "h1/c1"), observe: everythingUp });
    expect(
      model.containers.map((container) => [
        container.label,
        container.health,
        container.pairsOk,
        container.pairsProbed,
      ]),
    ).toEqual([
      ["h1/c1", "failed", 0, 6],
      ["h1/c2", "partial", 4, 6],
      ["h2/c1", "partial", 4, 6],
      ["h2/c2", "partial", 4, 6],
    ]);
    expect(model.probe?.failed).toBe(6);
    expect(model.probe?.pairs.find((pair) => pair.from === "h1/c2" && pair.to === "h2/c1")?.cell).toBe("ok 0.25ms");
  });
});

describe("lab graph layout", () => {
  const overlap = (a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it("puts the hosts in a row under the underlay and each host's containers under it, the same way every time", () => {
    const model = buildGraphModel({
      state: labState({
        hosts: [{ name: "h1", containers: ["a", "b", "c"] }, { name: "h2", containers: ["a"] }, "h3"],
      }),
      observe: everythingUp,
    });
    const layout = layoutGraph(model);
    expect(layoutGraph(model)).toEqual(layout);
    const hosts = model.hosts.map((host) => layout.hosts[host.name]!);
    expect(new Set(hosts.map((box) => box.y)).size).toBe(1);
    for (const [index, box] of hosts.slice(1).entries())
      expect(box.x).toBeGreaterThan(hosts[index]!.x + hosts[index]!.width);
    for (const box of hosts) expect(box.y).toBeGreaterThan(layout.underlay.y + layout.underlay.height);
    const boxes = [layout.underlay, ...hosts];
    for (const container of model.containers) {
      const box = layout.containers[container.label]!;
      const host = layout.hosts[container.host]!;
      expect(box.y).toBeGreaterThan(host.y + host.height);
      expect(box.x).toBeGreaterThanOrEqual(host.x);
      expect(box.x + box.width).toBeLessThanOrEqual(host.x + host.width);
      boxes.push(box);
    }
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1)) expect(overlap(a, b), JSON.stringify([a, b])).toBe(false);
    for (const box of boxes) expect(box.x + box.width).toBeLessThanOrEqual(layout.width);
    expect(layout.links).toHaveLength(model.hosts.length + model.containers.length);
  });

  it("leaves more room for link labels when a link has more impairments", () => {
    const state = labState();
    const plain = layoutGraph(buildGraphModel({ state, observe: everythingUp }));
    const impairment = { delayMs: 20, jitterMs: 5, lossPercent: 1, duplicatePercent: 1, corruptPercent: 1 };
    const busy = layoutGraph(
      buildGraphModel({
        state,
        observe: everythingUp,
        impairments: store({
          "h1/c1": { target: "h1/c1", netns: "demo-h1-c1", ifName: "eth0", impairment, mechanisms: {} },
        }),
      }),
    );
    expect(busy.containers["h1/c1"]!.y - busy.hosts.h1!.y).toBeGreaterThan(
      plain.containers["h1/c1"]!.y - plain.hosts.h1!.y,
    );
    expect(busy.hosts).toEqual(plain.hosts);
  });
});

function page(model: GraphModel, live = false): string {
  return renderGraphPage(model, {
    generatedAt: new Date("2024-01-01T00:02:00Z"),
    ...(live && { live: { pollMs: 1000 } }),
  });
}

const sha = (text: string): string => `'sha256-${crypto.createHash("sha256").update(text).digest("base64")}'`;

describe("lab graph page", () => {
  it("shows every host and container, the underlay, and each link's addresses and MTU", () => {
    const html = page(buildGraphModel({ state: labState(), observe: everythingUp }));
    for (const node of ["underlay", "h1", "h2", "h1/c1", "h1/c2", "h2/c1", "h2/c2"])
      expect(html).toContain(`data-node="${node}"`);
    expect(html).toContain("ul0 198.18.0.1/24");
    expect(html).toContain("mtu 1450 · up");
    expect(html).toContain("underlay switch · 198.18.0.0/24 · mtu 1500");
    expect(html).toContain("No probe yet");
  });

  it("colours each matrix cell by verdict and marks the broken container's link and box", () => {
    const state = labState();
    const impairments = store({
      "h1/c1": {
        target: "h1/c1",
        netns: "demo-h1-c1",
        ifName: "eth0",
        impairment: { lossPercent: 100 },
        mechanisms: {},
      },
    });
    const html = page(buildGraphModel({ state, probe: probeOf(state, "h1/c1"), impairments, observe: everythingUp }));
    expect(html).toMatch(
      /<td class="verdict-unreachable" data-pair="h1\/c1&gt;h2\/c1" data-verdict="unreachable"[^>]*>FAIL<\/td>/,
    );
    expect(html).toMatch(/<td class="verdict-ok" data-pair="h1\/c2&gt;h2\/c1" data-verdict="ok"[^>]*>ok 0\.25ms<\/td>/);
    expect(html).toContain('<td class="self">–</td>');
    expect(html).toContain('class="container health-failed" data-node="h1/c1"');
    expect(html).toContain('class="link state-up impaired" data-link="h1/c1"');
    expect(html).toContain("6 of 12 pairs FAILED");
  });

  it("escapes what comes from the lab, and loads nothing from anywhere", () => {
    const state = labState();
    const probe = probeOf(state);
    probe.reports[0] = report("h1/c1", "h1/c2", "mtu-black-hole", '<img src=x onerror="alert(1)">');
    const html = page(buildGraphModel({ state, probe, observe: everythingUp }), true);
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    // The one URL in the page is the SVG namespace; no src/href attribute at all.
    expect(html.match(/\w+:\/\/[^\s"']+/g)).toEqual(["http://www.w3.org/2000/svg"]);
    expect(html).not.toMatch(/\s(src|href)="/);
    expect(html).not.toMatch(/\sstyle="/);
  });

  it("allows exactly its inline style and script by hash; a static page has no script", () => {
    const model = buildGraphModel({ state: labState(), observe: everythingUp });
    const policyOf = (html: string): string =>
      (/http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "").replace(/&#39;/g, "'");
    const live = page(model, true);
    const style = /<style>([\s\S]*?)<\/style>/.exec(live)?.[1] ?? "";
    const script = /<script>([\s\S]*?)<\/script>/.exec(live)?.[1] ?? "";
    expect(script).toContain('fetch("state.json?since="');
    expect(policyOf(live)).toContain(`style-src ${sha(style)}`);
    expect(policyOf(live)).toContain(`script-src ${sha(script)}`);
    expect(policyOf(live)).toContain("connect-src 'self'");
    const fixed = page(model);
    expect(fixed).not.toContain("<script");
    expect(policyOf(fixed)).toContain("script-src 'none'");
    expect(page(model)).toBe(fixed);
  });
});

describe("lab graph text", () => {
  it("cuts a long line in the middle, keeping its kind and its distinguishing end", () => {
    expect(fitText("netns ckbwfxt-7a1-gr-h1-c2", 20 * 7, 7)).toBe("netns ckbw…-gr-h1-c2");
    expect(fitText("netns lab-h1-c1", 20 * 7, 7)).toBe("netns lab-h1-c1");
  });
});
