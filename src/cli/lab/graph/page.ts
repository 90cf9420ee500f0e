// The whole HTML document of `cnikit lab graph`: one file with its stylesheet, its SVG
// and (when served live) its script inline, and a Content Security Policy that allows
// exactly those two inline blocks by hash and nothing from anywhere else, so the page
// works offline and cannot be made to load anything.
import * as crypto from "node:crypto";
import { element, escapeHtml, readableTime } from "./html";
import type { GraphModel } from "./model";
import { renderGraphSvg } from "./svg";
import { renderLinkTable, renderProbeMatrix } from "./tables";

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #1d2330; background: #f7f8fa; }
h1 { font-size: 18px; margin: 0 0 2px; }
.meta { color: #5b6475; margin: 0 0 12px; }
.live { font-weight: 600; color: #1a7f37; }
.live.bad { color: #b42318; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; border: 1px solid #7a8699; }
.figure { overflow-x: auto; background: #fff; border: 1px solid #d9dde5; border-radius: 8px; padding: 4px; margin-bottom: 16px; }
svg text { font: 11px ui-monospace, monospace; fill: #1d2330; }
svg text.name { font-weight: 700; font-size: 12px; }
svg .box { stroke-width: 1.5; }
svg .underlay .box { fill: #e8ecf3; stroke: #7a8699; }
svg .host .box { fill: #eef4ff; stroke: #4a6fa5; }
svg .container .box { fill: #fff; stroke: #9aa3b2; stroke-width: 2; }
svg .container.health-ok .box { fill: #e9f7ee; stroke: #1a7f37; }
svg .container.health-partial .box { fill: #fff4e0; stroke: #b86e00; }
svg .container.health-failed .box { fill: #fdecea; stroke: #b42318; }
svg .container.health-failed text.probe, svg .container.health-partial text.probe { fill: #b42318; font-weight: 700; }
svg .link line { stroke: #4a6fa5; stroke-width: 2.5; }
svg .link.impaired line { stroke: #b86e00; stroke-dasharray: 7 4; }
svg .link.state-down line, svg .link.state-missing line { stroke: #b42318; stroke-dasharray: 3 4; }
svg .link.state-down text, svg .link text.impairment { fill: #8a3b00; }
svg .link.state-down text { fill: #b42318; font-weight: 700; }
table { border-collapse: collapse; margin: 0 0 16px; background: #fff; }
h2 { font-size: 14px; margin: 0 0 6px; }
th, td { border: 1px solid #d9dde5; padding: 3px 8px; font: 12px ui-monospace, monospace; text-align: left; }
thead th { background: #eef1f5; }
td.self { color: #9aa3b2; text-align: center; }
.verdict-ok, .legend .ok { background: #d8f3e1; color: #0f5323; }
.verdict-unreachable, .legend .failed { background: #f9d6d2; color: #8c1d12; font-weight: 700; }
.verdict-mtu-black-hole, .verdict-fragments-lost, .legend .degraded { background: #ffe7bf; color: #7a4100; font-weight: 700; }
.verdict-none, .legend .none { background: #eef1f5; color: #5b6475; }
td.state-down, td.state-missing { color: #b42318; font-weight: 700; }
td.impaired { color: #8a3b00; }
.no-probe { color: #5b6475; }
`;

/** The live page's script: replaces #lab with what the server says whenever it changed, without reloading the page. */
export const liveScript = (pollMs: number): string => `
(function () {
  var hash = document.body.getAttribute("data-hash");
  var status = document.getElementById("live");
  var busy = false;
  function show(text, bad) { status.textContent = text; status.className = bad ? "live bad" : "live"; }
  function poll() {
    if (busy) return;
    busy = true;
    fetch("state.json?since=" + encodeURIComponent(hash), { cache: "no-store" })
      .then(function (response) { if (!response.ok) throw new Error("HTTP " + response.status); return response.json(); })
      .then(function (state) {
        if (state.error) { show(state.error, true); return; }
        if (typeof state.body === "string" && state.hash !== hash) {
          document.getElementById("lab").innerHTML = state.body;
          hash = state.hash;
          document.body.setAttribute("data-hash", hash);
        }
        show("live, updated " + new Date(state.updatedAt).toLocaleTimeString(), false);
      })
      .catch(function (err) { show("server not answering (" + err.message + ")", true); })
      .then(function () { busy = false; });
  }
  setInterval(poll, ${Math.round(pollMs)});
})();
`;

const sha256 = (text: string): string => `'sha256-${crypto.createHash("sha256").update(text).digest("base64")}'`;

/** The Content-Security-Policy of a page with these inline blocks (also sent as a header when served). */
export function contentSecurityPolicy(script: string | undefined): string {
  return [
    "default-src 'none'",
    `style-src ${sha256(STYLE)}`,
    `script-src ${script === undefined ? "'none'" : sha256(script)}`,
    `connect-src ${script === undefined ? "'none'" : "'self'"}`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

const LEGEND = element(
  "p",
  { class: "legend" },
  [
    ["ok", "pair ok"],
    ["failed", "unreachable"],
    ["degraded", "MTU black hole / fragments lost"],
    ["none", "not probed"],
  ]
    .map(([className, text]) => element("span", {}, element("i", { class: className }) + escapeHtml(text as string)))
    .join("") + element("span", {}, "links: solid up, long dashes impaired, short red dashes down"),
);

/** What changes while the lab runs: the drawing and the two tables (the live page swaps this). */
export function renderGraphBody(model: GraphModel): string {
  return element("div", { class: "figure" }, renderGraphSvg(model)) + renderProbeMatrix(model) + renderLinkTable(model);
}

/** A short digest of the body, so the live page fetches a new one only when it changed. */
export function bodyHash(body: string): string {
  return crypto.createHash("sha256").update(body).digest("hex").slice(0, 16);
}

export interface PageOptions {
  /** When the page was made (a static page says so; a live one says when it last heard). */
  generatedAt: Date;
  /** Served live: poll the server's state.json this often. */
  live?: { pollMs: number };
}

export function renderGraphPage(model: GraphModel, options: PageOptions): string {
  const script = options.live ? liveScript(options.live.pollMs) : undefined;
  const body = renderGraphBody(model);
  const describe = `${model.plugin}, ${model.hosts.length} hosts, ${model.containers.length} containers${model.overlay ? `, VXLAN vni ${model.overlay.vni} udp ${model.overlay.port}` : ""}`;
  const status = options.live
    ? element("span", { id: "live", class: "live" }, "live")
    : element(
        "span",
        {},
        `written ${escapeHtml(readableTime(options.generatedAt.toISOString()))} (cnikit lab graph --serve 127.0.0.1:PORT follows the lab live)`,
      );
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(script))}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>lab ${escapeHtml(model.lab)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    `<body data-lab="${escapeHtml(model.lab)}" data-hash="${bodyHash(body)}">`,
    `<h1>lab ${escapeHtml(model.lab)}</h1>`,
    `<p class="meta">${escapeHtml(describe)} · ${status}</p>`,
    LEGEND,
    element("main", { id: "lab" }, body),
    script === undefined ? "" : `<script>${script}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
