// The veth plugin's configuration: the reference ptp plugin's options, read the way
// it reads them (an `mtu` of 0 means the kernel's default).
import { parseNetConf } from "../../src/cni/config";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { DNS, NetConf } from "../../src/cni/types";
import { requireMasqBackend } from "../../src/plugin/ipmasq-backend";
import validate = require("./config.validate");

export interface VethNetConf extends NetConf {
  ipMasq?: boolean;
  /** As in ptp; only "nftables" can be honoured (src/plugin/ipmasq-backend.ts). */
  ipMasqBackend?: "nftables" | "iptables";
  mtu?: number;
}

/** The configuration with defaults applied. */
export interface VethConfig {
  netConf: VethNetConf;
  /** Both ends' MTU; undefined leaves the kernel's default. */
  mtu: number | undefined;
  ipMasq: boolean;
  /** The config's `dns`, when it sets anything (it then replaces what IPAM returned, as in ptp). */
  dns: DNS | undefined;
}

/** The smallest MTU the kernel accepts on a veth (ETH_MIN_MTU). */
const MIN_MTU = 68;

function dnsIfSet(dns: DNS | undefined): DNS | undefined {
  if (!dns) return undefined;
  const set =
    dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || (dns.domain ?? "") !== "";
  return set ? dns : undefined;
}

export function loadVethConfig(stdin: Buffer): VethConfig {
  const netConf = parseNetConf<VethNetConf>(stdin, validate);
  requireMasqBackend(netConf.ipMasqBackend);
  const mtu = netConf.mtu === undefined || netConf.mtu === 0 ? undefined : netConf.mtu;
  if (mtu !== undefined && mtu < MIN_MTU)
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `mtu: must be 0 (kernel default) or at least ${MIN_MTU}, got ${mtu}`,
    );
  return { netConf, mtu, ipMasq: netConf.ipMasq === true, dns: dnsIfSet(netConf.dns) };
}
