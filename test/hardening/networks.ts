// The networks the hardening suites attach containers to. Adding a plugin to every
// suite is one entry here. The suites' host is underlay host 198.18.0.1 (ul0), so
// overlay peers 198.18.0.2 and .3 are routed there (they need not answer).
export interface NetworkContext {
  dataDir: string;
  /** Distinguishes the objects of concurrent fixtures (bridge names are global to a namespace only, but keep them short). */
  tag: string;
}

export interface NetworkSpec {
  /** Short key, also the network name's suffix. */
  key: string;
  plugin: "bridge" | "veth" | "vxlan-overlay";
  /** Whether ADD installs nftables masquerade rules (one set per attachment). */
  ipMasq: boolean;
  config(context: NetworkContext): Record<string, unknown>;
}

function hostLocal(context: NetworkContext, ranges: Array<Array<Record<string, string>>>): Record<string, unknown> {
  return { type: "host-local", dataDir: context.dataDir, ranges };
}

export const NETWORKS: readonly NetworkSpec[] = [
  {
    key: "bra",
    plugin: "bridge",
    ipMasq: true,
    config: (context) => ({
      cniVersion: "1.1.0",
      name: `hz-bra`,
      type: "bridge",
      bridge: `hzbra${context.tag}`,
      isGateway: true,
      ipMasq: true,
      ipam: hostLocal(context, [[{ subnet: "10.61.0.0/24" }]]),
    }),
  },
  {
    key: "brb",
    plugin: "bridge",
    ipMasq: false,
    config: (context) => ({
      cniVersion: "1.0.0",
      name: `hz-brb`,
      type: "bridge",
      bridge: `hzbrb${context.tag}`,
      isDefaultGateway: true,
      hairpinMode: true,
      ipam: hostLocal(context, [[{ subnet: "10.62.0.0/24" }], [{ subnet: "fd10:62::/64" }]]),
    }),
  },
  {
    key: "vxa",
    plugin: "vxlan-overlay",
    ipMasq: false,
    config: (context) => ({
      cniVersion: "1.1.0",
      name: "hz-vxa",
      type: "vxlan-overlay",
      vni: 4242,
      peers: ["198.18.0.1", "198.18.0.2", "198.18.0.3"],
      hostAddress: { "198.18.0.1": "10.68.0.1/16" },
      ipam: hostLocal(context, [[{ subnet: "10.68.0.0/16", rangeStart: "10.68.1.10", rangeEnd: "10.68.1.250" }]]),
    }),
  },
  {
    key: "vxb",
    plugin: "vxlan-overlay",
    ipMasq: false,
    config: (context) => ({
      cniVersion: "1.1.0",
      name: "hz-vxb",
      type: "vxlan-overlay",
      vni: 4343,
      mode: "l3",
      subnet: "10.69.1.0/24",
      peers: [
        { address: "198.18.0.2", subnet: "10.69.2.0/24" },
        { address: "198.18.0.3", subnet: "10.69.3.0/24" },
      ],
      ipam: hostLocal(context, [[{ subnet: "10.69.1.0/24" }]]),
    }),
  },
  {
    key: "vea",
    plugin: "veth",
    ipMasq: true,
    config: (context) => ({
      cniVersion: "1.1.0",
      name: `hz-vea`,
      type: "veth",
      ipMasq: true,
      ipam: hostLocal(context, [[{ subnet: "10.63.0.0/24" }]]),
    }),
  },
];

/** The network of NETWORKS with this key. */
export function networkByKey(key: string): NetworkSpec {
  const found = NETWORKS.find((spec) => spec.key === key);
  if (!found) throw new Error(`no network ${key}`);
  return found;
}
