// `cnikit inspect <netns|lab>`: what the kernel holds in one namespace, read with our
// codec; for a lab, its overlay checked against its config (lab/inspect.ts).
import * as fs from "node:fs";
import { Handle } from "../netlink/handle";
import { namedNetnsPath } from "../netns/netns";
import { CliError } from "./errors";
import { renderSnapshot } from "./inspect/render";
import { takeSnapshot } from "./inspect/snapshot";
import { resolveNetnsArg } from "./netns-cmd";
import { writeJson, writeStdout } from "./output";

export interface InspectOptions {
  json?: boolean;
  all?: boolean;
}

/** A namespace (name or path), or else a lab of that name. */
export function inspectTarget(target: string, options: InspectOptions): void {
  if (!target.includes("/") && !fs.existsSync(namedNetnsPath(target))) {
    const { readLabState } = require("./lab/state") as typeof import("./lab/state");
    const lab = readLabState(target);
    if (!lab) throw new CliError(`no namespace ${namedNetnsPath(target)} and no lab named ${target}`);
    (require("./lab/inspect") as typeof import("./lab/inspect")).inspectLab(lab, options);
    return;
  }
  inspectNetns(target, options);
}

export function inspectNetns(target: string, options: InspectOptions): void {
  const nsPath = resolveNetnsArg(target);
  const handle = Handle.at(nsPath);
  let snapshot: ReturnType<typeof takeSnapshot>;
  try {
    snapshot = takeSnapshot(handle, nsPath);
  } finally {
    handle.close();
  }
  if (options.json) writeJson(snapshot);
  else writeStdout(renderSnapshot(snapshot, { all: options.all }));
}
