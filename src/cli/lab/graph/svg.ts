// The lab drawn as inline SVG from the model and its layout. Colours come from classes
// (page.ts's stylesheet), never from style attributes, so the page's Content Security
// Policy can forbid inline styles. `data-*` attributes name what each shape is, for
// scripts and tests: data-node (underlay, h1, h1/c1), data-link (h1, h1/c1), data-state.
import { element, escapeHtml, fitText } from "./html";
import { type Box, LINE_HEIGHT, type PlacedLink, layoutGraph, linkLabelLines } from "./layout";
import type { GraphContainer, GraphHost, GraphLink, GraphModel } from "./model";

/** Width of one character of the 11px monospace labels, rounded up. */
const CHAR_PX = 6.8;

function textLines(
  lines: readonly { text: string; className?: string }[],
  x: number,
  y: number,
  width: number,
): string {
  return lines
    .map((line, index) =>
      element(
        "text",
        { x, y: y + index * LINE_HEIGHT, class: line.className },
        escapeHtml(fitText(line.text, width, CHAR_PX)),
      ),
    )
    .join("");
}

function rect(box: Box, className: string): string {
  return element("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: 6, class: className });
}

function linkClasses(link: GraphLink): string {
  return ["link", `state-${link.state}`, link.impairments.length > 0 ? "impaired" : ""].filter(Boolean).join(" ");
}

function drawLink(link: GraphLink, placed: PlacedLink, labelWidth: number): string {
  const lines = linkLabelLines(link).map((text, index) => ({ text, ...(index >= 2 && { className: "impairment" }) }));
  const title = `${link.target}: ${link.netns}:${link.ifName} ${link.state}${link.impairments.length > 0 ? `, ${link.impairments.join(", ")}` : ""}`;
  return element(
    "g",
    { class: linkClasses(link), "data-link": link.target, "data-state": link.state },
    element("title", {}, escapeHtml(title)) +
      element("line", { x1: placed.from.x, y1: placed.from.y, x2: placed.to.x, y2: placed.to.y }) +
      textLines(lines, placed.label.x, placed.label.y + 10, labelWidth),
  );
}

function drawHost(model: GraphModel, host: GraphHost, box: Box): string {
  const inner = box.width - 20;
  const lines = [
    { text: `host ${host.name}`, className: "name" },
    { text: `netns ${host.netns}` },
    {
      text: model.bridge ? `bridge ${model.bridge} · gateway ${host.gateway}` : `veth pairs · gateway ${host.gateway}`,
    },
    { text: `slice ${host.slice}` },
    ...(model.overlay
      ? [{ text: `VTEP vni ${model.overlay.vni} · udp ${model.overlay.port}` }]
      : model.plugin === "bridge"
        ? [{ text: "slices routed over the underlay" }]
        : []),
  ];
  return element(
    "g",
    { class: "host", "data-node": host.name },
    rect(box, "box") + textLines(lines, box.x + 10, box.y + 20, inner),
  );
}

function drawContainer(container: GraphContainer, box: Box): string {
  const probe =
    container.health === "unprobed"
      ? "not probed yet"
      : container.health === "ok"
        ? `probe: all ${container.pairsProbed} pairs ok`
        : `probe: ${container.pairsProbed - container.pairsOk}/${container.pairsProbed} pairs FAILED`;
  const lines = [
    { text: container.label, className: "name" },
    { text: `netns ${container.netns}` },
    { text: probe, className: "probe" },
  ];
  return element(
    "g",
    { class: `container health-${container.health}`, "data-node": container.label, "data-health": container.health },
    element(
      "title",
      {},
      escapeHtml(`${container.label}: ${container.link.addresses.join(" ") || "no address"}; ${probe}`),
    ) +
      rect(box, "box") +
      textLines(lines, box.x + 10, box.y + 18, box.width - 20),
  );
}

export function renderGraphSvg(model: GraphModel): string {
  const layout = layoutGraph(model);
  const { underlay } = layout;
  const parts: string[] = [];
  parts.push(
    element(
      "g",
      { class: "underlay", "data-node": "underlay" },
      rect(underlay, "box") +
        textLines(
          [
            { text: `underlay switch · ${model.underlay.subnet} · mtu ${model.underlay.mtu}`, className: "name" },
            { text: `netns ${model.underlay.netns}` },
          ],
          underlay.x + 10,
          underlay.y + 18,
          underlay.width - 20,
        ),
    ),
  );
  const linkOf = new Map([
    ...model.hosts.map((host) => [host.link.target, host.link] as const),
    ...model.containers.map((container) => [container.link.target, container.link] as const),
  ]);
  for (const placed of layout.links) {
    const link = linkOf.get(placed.target);
    // A container link's label stays within its container's column; a host link's within the host's.
    const column = layout.containers[placed.target] ?? layout.hosts[placed.target];
    if (link && column) parts.push(drawLink(link, placed, column.x + column.width - placed.label.x));
  }
  for (const host of model.hosts) {
    const box = layout.hosts[host.name];
    if (box) parts.push(drawHost(model, host, box));
  }
  for (const container of model.containers) {
    const box = layout.containers[container.label];
    if (box) parts.push(drawContainer(container, box));
  }
  return element(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      class: "topology",
      width: layout.width,
      height: layout.height,
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: "img",
      "aria-label": `lab ${model.lab} topology`,
    },
    parts.join(""),
  );
}
