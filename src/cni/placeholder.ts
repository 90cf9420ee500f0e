// Until a plugin is written, its name answers VERSION (through the real skel) and
// refuses every other verb with a CNI error, so the dispatch of the one executable
// is testable end to end.
import { CniError, ErrorCode } from "./errors";
import { pluginMain } from "./skel";
import type { PluginFuncs } from "./types";

export function placeholderFuncs(plugin: string): PluginFuncs {
  const refuse = (verb: string) => async (): Promise<never> => {
    throw new CniError(ErrorCode.PluginNotAvailable, `${plugin}: ${verb} is not implemented yet`);
  };
  return { add: refuse("ADD"), del: refuse("DEL"), check: refuse("CHECK"), status: refuse("STATUS"), gc: refuse("GC") };
}

export function placeholderMain(plugin: string): void {
  pluginMain(placeholderFuncs(plugin), { name: plugin });
}
