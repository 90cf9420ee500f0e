// Each lab host is a runtime of its own: plugins run inside the host namespace (through
// `cnikit netns exec`), with that host's result cache and network config.
import { CniRuntime, type RuntimeConf } from "../../cni/runtime/runtime";
import { loadNetworkList, type NetworkConfigList } from "../../cni/runtime/conflist";
import { namedNetnsPath } from "../../netns/netns";
import { defaultPluginDir, selfCommand } from "../self";
import type { ContainerPlan, HostPlan } from "./plan";

export interface HostRuntime {
  runtime: CniRuntime;
  list: NetworkConfigList;
}

export function hostRuntime(host: HostPlan): HostRuntime {
  const runtime = new CniRuntime({
    // Labs run our plugins, whatever CNI_PATH says for `cnikit add`.
    pluginPaths: [defaultPluginDir()],
    cacheDir: host.cacheDir,
    commandPrefix: [...selfCommand(), "netns", "exec", namedNetnsPath(host.netns), "--"],
  });
  return { runtime, list: loadNetworkList(host.configFile) };
}

export function attachmentOf(container: ContainerPlan): RuntimeConf {
  return { containerId: container.containerId, netns: namedNetnsPath(container.netns), ifName: container.ifName };
}
