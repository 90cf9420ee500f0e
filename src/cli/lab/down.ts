// `cnikit lab down`: DEL every attachment (so leases and host-side objects go the way
// a runtime removes them), then the namespaces, the configs, caches, leases and state.
import * as fs from "node:fs";
import { describeFailure } from "../errors";
import { writeProgress } from "../output";
import { netnsExists, removeNetns } from "./kernel";
import { attachmentOf, hostRuntime } from "./runtime";
import { listLabNames, readLabState, removeLabState, resolveLabName } from "./state";

export interface LabDownOptions {
  quiet?: boolean;
}

export async function labDown(name: string | undefined, options: LabDownOptions): Promise<void> {
  const progress = options.quiet ? () => undefined : writeProgress;
  if (!name && listLabNames().length === 0) {
    progress("no lab is up");
    return;
  }
  const resolved = resolveLabName(name);
  const state = readLabState(resolved);
  if (!state) {
    progress(`lab ${resolved} is not up`);
    return;
  }
  const { plan } = state;
  // The agents first: nothing should reprogram a host while it is taken down.
  await (require("../overlay-lab") as typeof import("../overlay-lab")).stopLabEtcd(state, progress);
  await (require("./impair/lifecycle") as typeof import("./impair/lifecycle")).removeLabImpairments(state, progress);
  for (const host of plan.hosts) {
    if (netnsExists(host.netns) && fs.existsSync(host.configFile)) {
      const { runtime, list } = hostRuntime(host);
      for (const container of plan.containers.filter((each) => each.host === host.name)) {
        try {
          await runtime.delNetworkList(list, attachmentOf(container));
          progress(`- ${container.label} detached`);
        } catch (err) {
          // Keep going: the namespaces below take whatever DEL could not.
          progress(`! ${container.label}: DEL failed: ${describeFailure(err)}`);
        }
      }
    }
  }
  // After the DELs (which they may serve), before their namespaces go.
  (require("./daemons") as typeof import("./daemons")).stopLabDaemons(state, progress);
  for (const host of plan.hosts) {
    for (const container of plan.containers.filter((each) => each.host === host.name))
      removeNetns(container.netns, "container", progress);
    removeNetns(host.netns, "host", progress);
  }
  if (plan.etcd) removeNetns(plan.etcd.netns, "etcd", progress);
  removeNetns(plan.switchNetns, "underlay switch", progress);
  removeLabState(plan);
  progress(`lab ${plan.name} is down`);
}
