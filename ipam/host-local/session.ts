// Loading the config and running one command's work inside a store session.
import { loadCniArgs } from "../../src/cni/args";
import { parseNetConf } from "../../src/cni/config";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { CmdArgs } from "../../src/cni/types";
import { type HostLocalConfig, type HostLocalNetConf, loadHostLocalConfig } from "./config";
import validate = require("./config.validate");
import type { OpenStore, StoreSession } from "./store";

export interface LoadedConfig {
  netConf: HostLocalNetConf;
  config: HostLocalConfig;
}

/** `withArgs`: read CNI_ARGS (IP=...). DEL, GC and STATUS ignore them, so odd args never block a release. */
export function loadConfig(args: CmdArgs, withArgs: boolean): LoadedConfig {
  const netConf = parseNetConf<HostLocalNetConf>(args.stdinData, validate);
  const cniArgs = withArgs ? loadCniArgs(args.args, ["IP"]) : new Map<string, string>();
  return { netConf, config: loadHostLocalConfig(netConf, cniArgs) };
}

function asIoError(err: unknown, config: HostLocalConfig): unknown {
  if (err instanceof CniError || !(err instanceof Error) || typeof (err as NodeJS.ErrnoException).code !== "string")
    return err;
  return new CniError(
    ErrorCode.IoFailure,
    `host-local: network ${config.network} in ${config.dataDir}: ${err.message}`,
    "",
    { cause: err },
  );
}

/** Runs `body` with the network locked; the store is committed and unlocked afterwards, even on error. */
export function inSession<T>(openStore: OpenStore, config: HostLocalConfig, body: (store: StoreSession) => T): T {
  let session: StoreSession;
  try {
    session = openStore({ dataDir: config.dataDir, network: config.network });
  } catch (err) {
    throw asIoError(err, config);
  }
  try {
    return body(session);
  } catch (err) {
    throw asIoError(err, config);
  } finally {
    session.close();
  }
}
