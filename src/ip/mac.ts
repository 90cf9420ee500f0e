// MAC address syntax, defined once: what CNI_ARGS MAC=, args.cni.mac, the `mac`
// capability and our netlink codec accept. Six bytes, ':' or '-' between them (as Go's
// net.ParseMAC, which the reference plugins use, takes either), any case.
const MAC = /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/;

export function isMacAddress(text: string): boolean {
  return MAC.test(text);
}

/** The canonical form the kernel prints (lower case, ':'), or undefined for anything not a MAC. */
export function canonicalMac(text: string): string | undefined {
  return MAC.test(text) ? text.replace(/-/g, ":").toLowerCase() : undefined;
}
