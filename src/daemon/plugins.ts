// The plugins a daemon serves, by the name the front end was called as. Required on
// first use (static paths, so the compiled executable embeds them), then kept: a
// worker loads each plugin's code once, not once per request.
import type { PluginAbout } from "../cni/skel";
import type { PluginFuncs } from "../cni/types";
import { registerInProcessIpam } from "../plugin/ipam";

export interface ServedPlugin {
  funcs: PluginFuncs;
  about: PluginAbout;
}

const hostLocal = (): PluginFuncs => require("../../ipam/host-local/plugin").hostLocal;

const LOADERS: Readonly<Record<string, () => PluginFuncs>> = {
  bridge: () => require("../../plugins/bridge/bridge").bridgePlugin,
  veth: () => require("../../plugins/veth/veth").vethPlugin,
  "vxlan-overlay": () => require("../../overlay/plugin/vxlan-overlay").vxlanOverlayPlugin,
  "host-local": hostLocal,
};

// The plugins served delegate IPAM; host-local then runs in this worker, not in a process.
registerInProcessIpam({ "host-local": hostLocal });

export const SERVED_PLUGINS: readonly string[] = Object.keys(LOADERS);

const loaded = new Map<string, ServedPlugin>();

export function servedPlugin(name: string): ServedPlugin | undefined {
  const cached = loaded.get(name);
  if (cached) return cached;
  const load = LOADERS[name];
  if (!load) return undefined;
  const plugin = { funcs: load(), about: { name } };
  loaded.set(name, plugin);
  return plugin;
}
