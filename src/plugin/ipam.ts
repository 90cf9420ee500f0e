// IPAM by delegation, as the spec says: the plugin named by `ipam.type` runs from
// CNI_PATH with our environment and stdin. host-local is part of this executable, so
// when CNI_PATH points back at us it runs in-process (one process start saved). Which
// IPAM plugins the executable holds is told by its composition root (src/main.ts, the
// daemon's plugin table), so that src/ does not depend on ipam/ (ARCHITECTURE.md).
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus } from "../cni/delegate";
import { CniError, ErrorCode } from "../cni/errors";
import { showJson } from "../cni/json-bounds";
import type { CmdArgs, NetConf, PluginFuncs, Result } from "../cni/types";

let inProcessIpam: Readonly<Record<string, () => PluginFuncs>> = {};

/** The IPAM plugins this executable holds, by type; none registered: every IPAM call is exec'd. */
export function registerInProcessIpam(plugins: Readonly<Record<string, () => PluginFuncs>>): void {
  inProcessIpam = { ...inProcessIpam, ...plugins };
}

function ipamType(conf: NetConf): string {
  const type = conf.ipam?.type;
  if (typeof type !== "string" || type === "")
    throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.type: missing in ${showJson(conf.ipam ?? null)}`);
  // A plugin name, never a path: CNI_PATH is the only place plugins come from.
  if (type.includes("/") || type === "." || type === "..")
    throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.type: ${showJson(type)} is not a plugin name`);
  return type;
}

// `stdinData`: the bytes the IPAM plugin gets, stdin unless the plugin's loader
// completed the config (vxlan-overlay's subnetFile): then the effective config's.
function options(args: CmdArgs) {
  return { path: args.path, inProcess: inProcessIpam };
}

export function ipamAdd(conf: NetConf, args: CmdArgs, stdinData = args.stdinData): Promise<Result> {
  return delegateAdd(ipamType(conf), stdinData, options(args));
}

export function ipamDel(conf: NetConf, args: CmdArgs, stdinData = args.stdinData): Promise<void> {
  return delegateDel(ipamType(conf), stdinData, options(args));
}

export function ipamCheck(conf: NetConf, args: CmdArgs, stdinData = args.stdinData): Promise<void> {
  return delegateCheck(ipamType(conf), stdinData, options(args));
}

export function ipamStatus(conf: NetConf, args: CmdArgs, stdinData = args.stdinData): Promise<void> {
  return delegateStatus(ipamType(conf), stdinData, options(args));
}

export function ipamGc(conf: NetConf, args: CmdArgs, stdinData = args.stdinData): Promise<void> {
  return delegateGc(ipamType(conf), stdinData, options(args));
}

/** Whether the config names an IPAM plugin (`"ipam": {}` means L2 only). */
export function hasIpam(conf: NetConf): boolean {
  const type: unknown = conf.ipam?.type;
  // Anything but a string is a mistake, not a request for L2 only.
  if (type !== undefined && type !== null && typeof type !== "string")
    throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.type: must be a string, got ${showJson(type)}`);
  return typeof type === "string" && type !== "";
}
