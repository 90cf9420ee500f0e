// The one executable: `bridge`, `veth`, `vxlan-overlay` and `host-local` are links
// to it, and it becomes the program it was started as. Each branch loads only its
// own module, so a plugin never pays for the CLI or for the other plugins.
import * as path from "node:path";

/** The name this process was started as: argv0 for the compiled executable, the script for node. */
export function invocationName(): string {
  const override = process.env.CNIKIT_AS;
  if (override) return override;
  const argv0 = path.basename(process.argv0);
  if (argv0 !== "node" && argv0 !== "bun") return argv0;
  return path.basename(process.argv[1] ?? "cnikit").replace(/\.(js|ts)$/, "");
}

/** host-local runs in-process when a plugin delegates to it and CNI_PATH points back at us. */
function registerIpam(): void {
  const { registerInProcessIpam } = require("./plugin/ipam") as typeof import("./plugin/ipam");
  registerInProcessIpam({ "host-local": () => require("../ipam/host-local/plugin").hostLocal });
}

/** A plugin reads its stdin with a time bound; a socket as stdin needs the addon for that. */
function boundSocketStdin(): void {
  const { useTimedRead } = require("./cni/process-io") as typeof import("./cni/process-io");
  const { native } = require("../native") as typeof import("../native");
  const { CniError, ErrorCode } = require("./cni/errors") as typeof import("./cni/errors");
  useTimedRead((fd, maxBytes, timeoutMs) => {
    let addon: ReturnType<typeof native>;
    try {
      addon = native();
    } catch (err) {
      // Not a read failure: the plugin cannot run at all without its addon (code 999, as any other use).
      throw new CniError(ErrorCode.Internal, (err as Error).message, "", { cause: err });
    }
    return addon.readTimeout(fd, maxBytes, timeoutMs);
  });
}

function main(): void {
  const name = invocationName();
  if (name === "bridge" || name === "veth" || name === "vxlan-overlay" || name === "host-local") boundSocketStdin();
  switch (name) {
    case "bridge":
      registerIpam();
      require("../plugins/bridge/main").main();
      return;
    case "veth":
      registerIpam();
      require("../plugins/veth/main").main();
      return;
    case "vxlan-overlay":
      registerIpam();
      require("../overlay/plugin/main").main();
      return;
    case "host-local":
      require("../ipam/host-local/main").main();
      return;
    default:
      require("./cli/main").main();
  }
}

main();
