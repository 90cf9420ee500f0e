// `cnikit inspect <netns>`: what the kernel holds in one namespace, read with our codec.
import { Handle } from "../netlink/handle";
import { renderSnapshot } from "./inspect/render";
import { takeSnapshot } from "./inspect/snapshot";
import { resolveNetnsArg } from "./netns-cmd";
import { writeJson, writeStdout } from "./output";

export interface InspectOptions {
  json?: boolean;
  all?: boolean;
}

export function inspectNetns(target: string, options: InspectOptions): void {
  const nsPath = resolveNetnsArg(target);
  const handle = Handle.at(nsPath);
  let snapshot;
  try {
    snapshot = takeSnapshot(handle, nsPath);
  } finally {
    handle.close();
  }
  if (options.json) writeJson(snapshot);
  else writeStdout(renderSnapshot(snapshot, { all: options.all }));
}
