// The two tables under the drawing: the last probe matrix (rows send, columns receive,
// each cell coloured by its verdict) and every link with its addresses, MTU, state and
// impairments. Rows and columns follow the lab's plan, so a pair the probe did not
// reach still has its cell.
import { element, escapeHtml, readableTime } from "./html";
import type { GraphLink, GraphModel } from "./model";

function matrixCell(model: GraphModel, from: string, to: string): string {
  if (from === to) return element("td", { class: "self" }, "–");
  const pair = model.probe?.pairs.find((each) => each.from === from && each.to === to);
  if (!pair)
    return element(
      "td",
      { class: "verdict-none", "data-pair": `${from}>${to}`, "data-verdict": "none", title: "not in the last probe" },
      "·",
    );
  return element(
    "td",
    {
      class: `verdict-${pair.verdict}`,
      "data-pair": `${from}>${to}`,
      "data-verdict": pair.verdict,
      title: `${from} → ${to}: ${pair.verdict}: ${pair.explanation}`,
    },
    escapeHtml(pair.cell),
  );
}

export function renderProbeMatrix(model: GraphModel): string {
  if (!model.probe) {
    return element(
      "p",
      { class: "no-probe" },
      `No probe yet: run ${element("code", {}, escapeHtml(`cnikit probe --lab ${model.lab}`))} and this matrix fills in.`,
    );
  }
  const labels = model.containers.map((container) => container.label);
  const { failed, pairs } = model.probe;
  const summary = failed === 0 ? `all ${pairs.length} pairs ok` : `${failed} of ${pairs.length} pairs FAILED`;
  // A heading rather than a caption: a caption wraps to the table's width.
  const heading = element(
    "h2",
    {},
    `Last probe, ${element("time", { datetime: model.probe.probedAt }, escapeHtml(readableTime(model.probe.probedAt)))}: ${escapeHtml(summary)}`,
  );
  const head = element(
    "thead",
    {},
    element(
      "tr",
      {},
      element("th", { scope: "col" }, "from \\ to") +
        labels.map((label) => element("th", { scope: "col" }, escapeHtml(label))).join(""),
    ),
  );
  const rows = labels.map((from) =>
    element(
      "tr",
      {},
      element("th", { scope: "row" }, escapeHtml(from)) + labels.map((to) => matrixCell(model, from, to)).join(""),
    ),
  );
  return (
    heading +
    element(
      "table",
      { class: `matrix${failed > 0 ? " has-failures" : ""}`, "data-failed": failed },
      head + element("tbody", {}, rows.join("")),
    )
  );
}

function linkRow(link: GraphLink): string {
  const cells = [
    element("th", { scope: "row" }, escapeHtml(link.target)),
    element("td", {}, escapeHtml(`${link.netns}:${link.ifName}`)),
    element("td", {}, escapeHtml(link.addresses.join(" ") || "-")),
    element("td", {}, escapeHtml(link.mtu ?? "?")),
    element("td", { class: `state-${link.state}` }, escapeHtml(link.state)),
    element(
      "td",
      { class: link.impairments.length > 0 ? "impaired" : undefined },
      escapeHtml(link.impairments.join(", ") || "none"),
    ),
  ];
  return element("tr", { "data-link": link.target, "data-state": link.state }, cells.join(""));
}

export function renderLinkTable(model: GraphModel): string {
  const links = [
    ...model.hosts.map((host) => host.link),
    ...model.containers.map((container) => container.link),
    ...model.otherLinks,
  ];
  const head = element(
    "thead",
    {},
    element(
      "tr",
      {},
      ["link", "device", "addresses", "mtu", "state", "impairments"]
        .map((title) => element("th", { scope: "col" }, title))
        .join(""),
    ),
  );
  return (
    element("h2", {}, "Links") +
    element("table", { class: "links" }, head + element("tbody", {}, links.map(linkRow).join("")))
  );
}
