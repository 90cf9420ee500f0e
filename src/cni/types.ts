// CNI data types in their newest (1.1.0) shape. Plugins build results in this shape;
// src/cni/versions converts to and from older versions at the edge.

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number; // 1.1.0
  sandbox?: string;
  socketPath?: string; // 1.1.0
  pciID?: string; // 1.1.0
}

export interface IPConfig {
  /** Index into `interfaces`. */
  interface?: number;
  /** CIDR notation: the address and its prefix length, e.g. "10.1.0.5/24". */
  address: string;
  gateway?: string;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number; // 1.1.0
  advmss?: number; // 1.1.0
  priority?: number; // 1.1.0
  table?: number; // 1.1.0
  scope?: number; // 1.1.0
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** The network configuration every plugin receives (plugin-specific keys come on top). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  args?: { cni?: Record<string, unknown>; [key: string]: unknown };
  ipMasq?: boolean;
  ipam?: IPAMConf;
  dns?: DNS;
  runtimeConfig?: RuntimeConfig;
  prevResult?: Result;
  [key: string]: unknown;
}

export interface IPAMConf {
  type?: string;
  [key: string]: unknown;
}

export interface RuntimeConfig {
  ips?: string[];
  mac?: string;
  ipRanges?: Array<Array<{ subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }>>;
  dns?: DNS;
  [key: string]: unknown;
}

/** What the skel hands a plugin command: the environment and stdin, checked. */
export interface CmdArgs {
  containerId: string;
  /** CNI_NETNS; may be empty for DEL, GC and STATUS. */
  netns: string;
  ifName: string;
  /** CNI_ARGS as given ("K1=V1;K2=V2"). */
  args: string;
  /** CNI_PATH split on ':'. */
  path: string[];
  stdinData: Buffer;
}

export interface PluginFuncs {
  add(args: CmdArgs): Promise<Result>;
  del(args: CmdArgs): Promise<void>;
  check(args: CmdArgs): Promise<void>;
  status?(args: CmdArgs): Promise<void>;
  gc?(args: CmdArgs): Promise<void>;
}
