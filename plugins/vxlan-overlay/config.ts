// The vxlan-overlay configuration: schema first (ranges, types), then what a schema
// cannot say (addresses, the host address map). Nothing here touches the kernel or the
// disk: DEL must work whatever state the peers file or the underlay is in.
import * as net from "node:net";
import { parseNetConf } from "../../src/cni/config";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { NetConf } from "../../src/cni/types";
import { addressOf, prefixLengthOf } from "../../src/ip/cidr";
import validate = require("./config.validate");

export type OverlayMode = "l2" | "l3";

export interface OverlayNetConf extends NetConf {
  vni: number;
  port?: number;
  underlay?: string;
  localAddress?: string;
  peers?: string[];
  peersFile?: string;
  mode?: OverlayMode;
  bridge?: string;
  mtu?: number;
  hostAddress?: Record<string, string> | string;
}

/** The configuration with defaults applied; peers and underlay are resolved per call (see peers.ts, underlay.ts). */
export interface OverlayConfig {
  netConf: OverlayNetConf;
  vni: number;
  port: number;
  mode: "l2";
  bridgeName: string;
  /** The VXLAN device: one per VNI on a host. */
  vtepName: string;
  underlay?: string;
  /** Canonical form. */
  localAddress?: string;
  /** Canonical forms, in config order, duplicates removed. */
  peers: string[];
  peersFile?: string;
  mtu?: number;
  /** This host's bridge address by the host's underlay address (canonical): "10.20.0.1/16". */
  hostAddresses: Map<string, string>;
}

/** IANA's VXLAN port (the kernel's own default is the pre-standard 8472). */
export const DEFAULT_VXLAN_PORT = 4789;

export function invalid(message: string, details = ""): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, message, details);
}

/** A bare IP address (no prefix length), in canonical form; code 7 naming the field otherwise. */
export function requireAddress(field: string, value: string): string {
  if (net.isIP(value) === 0) throw invalid(`${field}: ${JSON.stringify(value)} is not an IP address`);
  return addressOf(value);
}

/** Adds addresses to `into` in order, skipping ones already there. */
export function addUnique(into: string[], addresses: Iterable<string>): string[] {
  for (const address of addresses) if (!into.includes(address)) into.push(address);
  return into;
}

function requireCidr(field: string, value: string): string {
  const [address, prefix] = value.split("/");
  const family = net.isIP(address ?? "");
  const maxPrefix = family === 4 ? 32 : 128;
  if (family === 0 || prefix === undefined || !/^\d+$/.test(prefix) || Number(prefix) > maxPrefix)
    throw invalid(`${field}: ${JSON.stringify(value)} is not an address with a prefix length (like "10.20.0.1/16")`);
  return `${addressOf(value)}/${prefixLengthOf(value)}`;
}

/**
 * One config usually serves every host of the overlay, so one bridge address would sit
 * on every host at once and conflict across the overlay. The address is therefore given
 * per host, keyed by the host's underlay address, and no address may be given twice.
 */
function hostAddressMap(hostAddress: OverlayNetConf["hostAddress"]): Map<string, string> {
  const byHost = new Map<string, string>();
  if (hostAddress === undefined) return byHost;
  if (typeof hostAddress === "string")
    throw invalid(
      `hostAddress: ${JSON.stringify(hostAddress)} would be the bridge address of every host of the overlay; map each host's underlay address to its own address`,
      `e.g. {"198.18.0.1": "10.20.0.1/16", "198.18.0.2": "10.20.0.2/16"}`,
    );
  const hostByAddress = new Map<string, string>();
  for (const [hostKey, cidrText] of Object.entries(hostAddress)) {
    const host = requireAddress(`hostAddress[${JSON.stringify(hostKey)}] (key)`, hostKey);
    const cidr = requireCidr(`hostAddress[${JSON.stringify(hostKey)}]`, cidrText);
    const address = addressOf(cidr);
    const other = hostByAddress.get(address);
    if (other !== undefined) throw invalid(`hostAddress: ${address} is given to both host ${other} and host ${host}; each host needs its own address`);
    if (byHost.has(host)) throw invalid(`hostAddress: host ${host} is listed twice`);
    hostByAddress.set(address, host);
    byHost.set(host, cidr);
  }
  return byHost;
}

export function loadOverlayConfig(stdin: Buffer): OverlayConfig {
  const netConf = parseNetConf<OverlayNetConf>(stdin, validate);
  const mode = netConf.mode ?? "l2";
  if (mode !== "l2") throw invalid(`mode: ${JSON.stringify(mode)} is not implemented by this version of vxlan-overlay (only "l2")`);
  const peers = addUnique([], (netConf.peers ?? []).map((peer, index) => requireAddress(`peers[${index}]`, peer)));
  return {
    netConf,
    vni: netConf.vni,
    port: netConf.port ?? DEFAULT_VXLAN_PORT,
    mode,
    bridgeName: netConf.bridge ?? `vxbr${netConf.vni}`,
    vtepName: `vx${netConf.vni}`,
    ...(netConf.underlay !== undefined && { underlay: netConf.underlay }),
    ...(netConf.localAddress !== undefined && { localAddress: requireAddress("localAddress", netConf.localAddress) }),
    peers,
    ...(netConf.peersFile !== undefined && { peersFile: netConf.peersFile }),
    ...(netConf.mtu !== undefined && { mtu: netConf.mtu }),
    hostAddresses: hostAddressMap(netConf.hostAddress),
  };
}
