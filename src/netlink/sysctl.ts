// Sysctls of a network namespace: /proc/sys/net files opened from inside that
// namespace (the addon enters it only around open()); the fd keeps pointing there.
import * as fs from "node:fs";
import { type NetnsTarget, native } from "../../native";

const PROC_SYS = "/proc/sys/";

/**
 * Turns a key into a path under /proc/sys. The slash form ("net/ipv4/conf/eth0.100/rp_filter")
 * is taken as is; in the dotted form, as with sysctl(8), a "/" inside a component stands
 * for a literal dot ("net.ipv4.conf.eth0/100.rp_filter"). Only net/ keys: a namespace
 * has no other sysctls of its own, and writing others would change the whole host.
 */
export function sysctlPath(key: string): string {
  const relative = key.startsWith(PROC_SYS) ? key.slice(PROC_SYS.length) : key;
  const parts = relative.startsWith("net/")
    ? relative.split("/")
    : relative.split(".").map((part) => part.replace(/\//g, "."));
  if (parts[0] !== "net" || parts.length < 2)
    throw new Error(`sysctl ${JSON.stringify(key)}: only net.* keys belong to a network namespace`);
  for (const part of parts) {
    if (part === "" || part === "." || part === "..")
      throw new Error(`sysctl ${JSON.stringify(key)}: bad component ${JSON.stringify(part)}`);
  }
  return PROC_SYS + parts.join("/");
}

/** Per-interface key in slash form, safe for interface names containing dots. */
export function interfaceSysctl(family: 4 | 6, ifName: string, setting: string): string {
  return `net/${family === 6 ? "ipv6" : "ipv4"}/conf/${ifName}/${setting}`;
}

export function writeSysctl(netns: NetnsTarget, key: string, value: string): void {
  const file = sysctlPath(key);
  const fd = native().openAt(netns, file, fs.constants.O_WRONLY);
  try {
    fs.writeSync(fd, value);
  } catch (err) {
    throw new Error(`write ${JSON.stringify(value)} to ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    fs.closeSync(fd);
  }
}

/** The value without its trailing newline. */
export function readSysctl(netns: NetnsTarget, key: string): string {
  const fd = native().openAt(netns, sysctlPath(key), fs.constants.O_RDONLY);
  try {
    return fs.readFileSync(fd, "utf8").replace(/\n$/, "");
  } finally {
    fs.closeSync(fd);
  }
}
