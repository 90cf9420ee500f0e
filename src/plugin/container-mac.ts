// The container interface's MAC when the runtime asks for one: CNI_ARGS MAC=, then
// args.cni.mac, then the `mac` capability, the later winning, as in the reference bridge.
import { loadCniArgs, readArgsCni, readRuntimeConfig } from "../cni/args";
import { CniError, ErrorCode } from "../cni/errors";
import type { CmdArgs, NetConf } from "../cni/types";
import { canonicalMac, isMacAddress } from "../ip/mac";

/** CNI_ARGS keys that runtimes commonly send to every plugin of a list. */
const SHARED_CNI_ARGS = ["MAC", "IP", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"];

export function requestedMac(conf: NetConf, args: CmdArgs): string | undefined {
  const fromEnv = loadCniArgs(args.args, SHARED_CNI_ARGS).get("MAC");
  if (fromEnv !== undefined && !isMacAddress(fromEnv))
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_ARGS: MAC ${JSON.stringify(fromEnv)} is not a MAC address`);
  const mac = readRuntimeConfig(conf).mac ?? readArgsCni(conf).mac ?? fromEnv;
  return mac === undefined ? undefined : canonicalMac(mac);
}
