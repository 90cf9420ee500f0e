// `cnikit lab diagram`: the lab as Mermaid (default) or Graphviz text, and as SVG when
// Graphviz's `dot` is installed. Drawn from the recorded plan and addresses.
import { spawnSync } from "node:child_process";
import { CliError } from "../errors";
import { writeProgress, writeStdout } from "../output";
import { LAB_BRIDGE, UNDERLAY_IF } from "./plan";
import { type LabState, requireLabState } from "./state";

const id = (...parts: string[]): string => parts.join("_").replace(/[^A-Za-z0-9_]/g, "_");

function addressesOf(state: LabState, label: string): string {
  return (state.addresses[label] ?? []).join(" ") || "no address";
}

export function mermaid(state: LabState): string {
  const { plan, topology } = state;
  const lines = [
    "flowchart TB",
    `  ${id("sw")}(["underlay switch ${topology.underlay.subnet}<br/>netns ${plan.switchNetns}"])`,
  ];
  for (const host of plan.hosts) {
    lines.push(`  subgraph ${id("host", host.name)}["host ${host.name} (netns ${host.netns})"]`);
    lines.push(`    ${id(host.name, "ul")}["${UNDERLAY_IF} ${host.underlayAddress}/${plan.underlayPrefixLength}"]`);
    if (plan.plugin !== "veth")
      lines.push(`    ${id(host.name, "br")}["bridge ${LAB_BRIDGE} ${host.gateway}<br/>slice ${host.slice}"]`);
    if (plan.plugin === "vxlan-overlay")
      lines.push(`    ${id(host.name, "vtep")}{{"VTEP vni ${topology.network.vni}"}}`);
    for (const container of plan.containers.filter((each) => each.host === host.name)) {
      lines.push(
        `    ${id(host.name, container.name)}("${container.name}<br/>${container.ifName} ${addressesOf(state, container.label)}")`,
      );
    }
    lines.push("  end");
  }
  for (const host of plan.hosts) {
    lines.push(`  ${id(host.name, "ul")} --- ${id("sw")}`);
    const attachPoint = plan.plugin === "veth" ? id(host.name, "ul") : id(host.name, "br");
    for (const container of plan.containers.filter((each) => each.host === host.name))
      lines.push(`  ${id(host.name, container.name)} --- ${attachPoint}`);
    if (plan.plugin === "vxlan-overlay") lines.push(`  ${id(host.name, "vtep")} --- ${id(host.name, "br")}`);
  }
  if (plan.plugin === "vxlan-overlay") {
    plan.hosts.forEach((host, index) => {
      for (const peer of plan.hosts.slice(index + 1))
        lines.push(`  ${id(host.name, "vtep")} -. "vxlan ${topology.network.vni}" .- ${id(peer.name, "vtep")}`);
    });
  } else if (plan.plugin === "bridge") {
    // No L2 between hosts: each host routes the other hosts' slices over the underlay.
    for (const host of plan.hosts) lines.push(`  ${id(host.name, "br")} -. "routed" .- ${id(host.name, "ul")}`);
  }
  return lines.join("\n");
}

export function graphviz(state: LabState): string {
  const { plan, topology } = state;
  const lines = [
    "graph lab {",
    "  rankdir=TB; node [shape=box, fontname=monospace];",
    `  sw [shape=ellipse, label="underlay switch\\n${topology.underlay.subnet}"];`,
  ];
  for (const host of plan.hosts) {
    lines.push(`  subgraph cluster_${id(host.name)} {`, `    label="host ${host.name} (${host.netns})";`);
    lines.push(`    ${id(host.name, "ul")} [label="${UNDERLAY_IF}\\n${host.underlayAddress}"];`);
    if (plan.plugin !== "veth")
      lines.push(`    ${id(host.name, "br")} [label="bridge ${LAB_BRIDGE}\\n${host.gateway}\\nslice ${host.slice}"];`);
    if (plan.plugin === "vxlan-overlay")
      lines.push(`    ${id(host.name, "vtep")} [shape=hexagon, label="VTEP vni ${topology.network.vni}"];`);
    for (const container of plan.containers.filter((each) => each.host === host.name)) {
      lines.push(
        `    ${id(host.name, container.name)} [shape=component, label="${container.name}\\n${addressesOf(state, container.label)}"];`,
      );
    }
    lines.push("  }");
    lines.push(`  ${id(host.name, "ul")} -- sw;`);
    const attachPoint = plan.plugin === "veth" ? id(host.name, "ul") : id(host.name, "br");
    for (const container of plan.containers.filter((each) => each.host === host.name))
      lines.push(`  ${id(host.name, container.name)} -- ${attachPoint};`);
    if (plan.plugin === "vxlan-overlay") lines.push(`  ${id(host.name, "vtep")} -- ${id(host.name, "br")};`);
  }
  if (plan.plugin === "vxlan-overlay") {
    plan.hosts.forEach((host, index) => {
      for (const peer of plan.hosts.slice(index + 1))
        lines.push(`  ${id(host.name, "vtep")} -- ${id(peer.name, "vtep")} [style=dashed, label="vxlan"];`);
    });
  }
  lines.push("}");
  return lines.join("\n");
}

export interface DiagramOptions {
  format?: string;
  svg?: string;
}

export function labDiagram(name: string | undefined, options: DiagramOptions): void {
  const state = requireLabState(name);
  const format = options.format ?? "mermaid";
  if (format !== "mermaid" && format !== "dot")
    throw new CliError(`--format must be mermaid or dot, got ${JSON.stringify(format)}`);
  if (options.svg) {
    const dot = spawnSync("dot", ["-Tsvg", "-o", options.svg], { input: graphviz(state), encoding: "utf8" });
    if (dot.error)
      throw new CliError(`--svg needs Graphviz's dot (apt-get install graphviz): ${dot.error.message}`, {
        cause: dot.error,
      });
    if (dot.status !== 0) throw new CliError(`dot failed: ${dot.stderr.trim()}`);
    writeProgress(`wrote ${options.svg}`);
    return;
  }
  writeStdout(format === "dot" ? graphviz(state) : mermaid(state));
}
