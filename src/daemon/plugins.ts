// The plugins a daemon serves, by the name the front end was called as. Required on
// first use (static paths, so the compiled executable embeds them), then kept: a
// worker loads each plugin's code once, not once per request.
import { type RequestContext, withRequestContext } from "../cni/request-context";
import { type PluginAbout, runSkel } from "../cni/skel";
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

/** One call as a request makes it: its own environment and stdin, its context's hooks. */
export interface ServedCall extends RequestContext {
  env: Record<string, string>;
  stdin: Buffer;
  /** The stdin already decoded (the worker decodes it once, for its own needs). */
  decodedStdin?: Record<string, unknown>;
}

/** Runs `call` through the same skel as a standalone process: its exit status and stdout. */
export async function runServed(target: ServedPlugin, call: ServedCall): Promise<{ status: number; stdout: string }> {
  const { stdin, decodedStdin, ...context } = call;
  const stdout: string[] = [];
  const io = {
    env: call.env,
    readStdin: () => stdin,
    writeStdout: (text: string) => stdout.push(text),
    writeStderr: call.writeStderr,
    ...(decodedStdin && { decodedStdin }),
  };
  const status = await withRequestContext(context, () => runSkel(target.funcs, target.about, io));
  return { status, stdout: stdout.join("") };
}
