// Numbers from the kernel's uapi headers (linux/netlink.h, rtnetlink.h, if_link.h,
// if_addr.h, neighbour.h, if_bridge.h). Grouped by the enum they come from.

export const NETLINK_ROUTE = 0;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

export const NlmsgType = {
  NOOP: 1,
  ERROR: 2,
  DONE: 3,
  OVERRUN: 4,
} as const;

export const Rtm = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
} as const;

export const NlmF = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  // GET requests
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  // NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // NLMSG_ERROR replies
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

export const NlmsgerrAttr = { MSG: 1, OFFS: 2, COOKIE: 3 } as const;

/** Set on an attribute type whose payload is itself a list of attributes. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const Ifla = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  PROTINFO: 12,
  TXQLEN: 13,
  OPERSTATE: 16,
  IFALIAS: 20,
  LINKINFO: 18,
  AF_SPEC: 26,
  NET_NS_FD: 28,
  EXT_MASK: 29,
  LINK_NETNSID: 37,
} as const;

export const IflaInfo = { KIND: 1, DATA: 2, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;
export const VETH_INFO_PEER = 1;
export const IFLA_BR_VLAN_FILTERING = 7;

export const IflaBrport = { MODE: 4, LEARNING: 8, UNICAST_FLOOD: 9, ISOLATED: 33 } as const;

export const IflaVxlan = {
  ID: 1,
  GROUP: 2,
  LINK: 3,
  LOCAL: 4,
  TTL: 5,
  LEARNING: 7,
  PROXY: 11,
  L2MISS: 13,
  L3MISS: 14,
  PORT: 15,
  GROUP6: 16,
  LOCAL6: 17,
  UDP_CSUM: 18,
  UDP_ZERO_CSUM6_TX: 19,
  UDP_ZERO_CSUM6_RX: 20,
} as const;

export const IflaBridge = { FLAGS: 0, MODE: 1, VLAN_INFO: 2 } as const;
export const BridgeFlags = { MASTER: 1, SELF: 2 } as const;
export const BridgeVlanInfo = { MASTER: 1, PVID: 2, UNTAGGED: 4, RANGE_BEGIN: 8, RANGE_END: 16 } as const;
export const RTEXT_FILTER_BRVLAN = 2;
/** IFLA_EXT_MASK bit: leave the statistics out of a link reply. */
export const RTEXT_FILTER_SKIP_STATS = 8;

/** net_device flags (linux/if.h). */
export const Iff = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  LOWER_UP: 0x10000,
} as const;

export const Ifa = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, CACHEINFO: 6, FLAGS: 8 } as const;
export const IfaF = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  DADFAILED: 0x08,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  NOPREFIXROUTE: 0x200,
} as const;

export const Rta = {
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  TABLE: 15,
  VIA: 18,
  PREF: 20,
} as const;
export const Rtax = { MTU: 2, ADVMSS: 8 } as const;
export const RTNH_F_ONLINK = 4;
export const RTM_F_CLONED = 0x200;

export const RtTable = { UNSPEC: 0, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const;
export const RtProt = { UNSPEC: 0, REDIRECT: 1, KERNEL: 2, BOOT: 3, STATIC: 4 } as const;
export const RtScope = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
export const RtnType = { UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5 } as const;

export const Nda = {
  DST: 1,
  LLADDR: 2,
  CACHEINFO: 3,
  PROBES: 4,
  VLAN: 5,
  PORT: 6,
  VNI: 7,
  IFINDEX: 8,
  MASTER: 9,
  LINK_NETNSID: 10,
  SRC_VNI: 11,
} as const;
export const Ntf = {
  USE: 0x01,
  SELF: 0x02,
  MASTER: 0x04,
  PROXY: 0x08,
  EXT_LEARNED: 0x10,
  OFFLOADED: 0x20,
  STICKY: 0x40,
  ROUTER: 0x80,
} as const;
export const Nud = {
  INCOMPLETE: 0x01,
  REACHABLE: 0x02,
  STALE: 0x04,
  DELAY: 0x08,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;

/** IFLA_AF_SPEC's AF_INET part: IFLA_INET_CONF holds ipv4 devconf values by their 1-based id. */
export const IFLA_INET_CONF = 1;
/** linux/ip.h: net.ipv4.conf.<dev>.arp_notify's devconf id. */
export const IPV4_DEVCONF_ARP_NOTIFY = 22;
