// Where each shape of the graph goes, computed the same way every time: the underlay
// switch as a bar across the top, the hosts in a row on it, each host's containers in a
// row under it (one row, so every link is a straight line no box crosses; a wide lab
// scrolls). Link labels get as many lines as the busiest link of their tier needs, so
// nothing overlaps however many impairments there are.
import type { GraphLink, GraphModel } from "./model";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedLink {
  target: string;
  from: { x: number; y: number };
  to: { x: number; y: number };
  /** Top-left of the label's first line, beside the line. */
  label: { x: number; y: number };
}

export interface GraphLayout {
  width: number;
  height: number;
  underlay: Box;
  hosts: Record<string, Box>;
  containers: Record<string, Box>;
  links: PlacedLink[];
}

export const LINE_HEIGHT = 14;
const MARGIN = 20;
const UNDERLAY_HEIGHT = 44;
const HOST_HEIGHT = 86;
const CONTAINER = { width: 200, height: 58 };
const GAP = 18;
const COLUMN_GAP = 40;
/** Space above and below a link's label. */
const LINK_PADDING = 14;
const MIN_HOST_WIDTH = 260;

/** The lines of text a link's label shows (svg.ts draws exactly these). */
export function linkLabelLines(link: GraphLink): string[] {
  const lines = [
    `${link.ifName} ${link.addresses.join(" ") || "no address"}`.trim(),
    `mtu ${link.mtu ?? "?"} · ${link.state}`,
  ];
  // Two impairments a line keeps labels narrow enough for a container's column.
  for (let index = 0; index < link.impairments.length; index += 2)
    lines.push(link.impairments.slice(index, index + 2).join(", "));
  return lines;
}

const tierGap = (links: readonly GraphLink[]): number =>
  LINK_PADDING * 2 + LINE_HEIGHT * Math.max(2, ...links.map((link) => linkLabelLines(link).length));

export function layoutGraph(model: GraphModel): GraphLayout {
  const underlayGap = tierGap(model.hosts.map((host) => host.link));
  const containerGap = tierGap(model.containers.map((container) => container.link));
  const hostTop = MARGIN + UNDERLAY_HEIGHT + underlayGap;
  const containerTop = hostTop + HOST_HEIGHT + containerGap;
  const hosts: Record<string, Box> = {};
  const containers: Record<string, Box> = {};
  const links: PlacedLink[] = [];
  let x = MARGIN;
  for (const host of model.hosts) {
    const mine = model.containers.filter((container) => container.host === host.name);
    const count = Math.max(1, mine.length);
    const width = Math.max(MIN_HOST_WIDTH, count * CONTAINER.width + (count - 1) * GAP);
    hosts[host.name] = { x, y: hostTop, width, height: HOST_HEIGHT };
    const ulX = x + 24;
    links.push({
      target: host.link.target,
      from: { x: ulX, y: MARGIN + UNDERLAY_HEIGHT },
      to: { x: ulX, y: hostTop },
      label: { x: ulX + 8, y: MARGIN + UNDERLAY_HEIGHT + LINK_PADDING },
    });
    mine.forEach((container, index) => {
      const box = { x: x + index * (CONTAINER.width + GAP), y: containerTop, ...CONTAINER };
      containers[container.label] = box;
      const lineX = box.x + 20;
      links.push({
        target: container.link.target,
        from: { x: lineX, y: hostTop + HOST_HEIGHT },
        to: { x: lineX, y: containerTop },
        label: { x: lineX + 8, y: hostTop + HOST_HEIGHT + LINK_PADDING },
      });
    });
    x += width + COLUMN_GAP;
  }
  const width = Math.max(x - COLUMN_GAP + MARGIN, 2 * MARGIN + MIN_HOST_WIDTH);
  return {
    width,
    height: (model.containers.length > 0 ? containerTop + CONTAINER.height : hostTop + HOST_HEIGHT) + MARGIN,
    underlay: { x: MARGIN, y: MARGIN, width: width - 2 * MARGIN, height: UNDERLAY_HEIGHT },
    hosts,
    containers,
    links,
  };
}
