// The only way fixtures touch the kernel: iproute2 commands, never src/netlink, so
// our codec is never its own judge.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
// The plugins' lock-file layout, from the one place it is written (a layout, not a codec).
import { DEFAULT_LOCK_DIR, isLockFileOf } from "../src/plugin/lock-layout";

/** Where `ip netns add` puts named namespaces. */
export const NETNS_DIR = "/run/netns";

/** A namespace given by its `ip netns` name, an absolute path, or a fixture object. */
export type NetnsRef = string | { name?: string; path: string };

export interface ResolvedNetns {
  /** Set when the namespace lives in /run/netns (so `ip -n` can address it). */
  name: string | undefined;
  path: string;
}

export function resolveNetns(ref: NetnsRef): ResolvedNetns {
  const nsPath = typeof ref === "string" ? (ref.startsWith("/") ? ref : `${NETNS_DIR}/${ref}`) : ref.path;
  const name = nsPath.startsWith(`${NETNS_DIR}/`) ? nsPath.slice(NETNS_DIR.length + 1) : undefined;
  return { name, path: nsPath };
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command and returns its output; throws with stderr when it fails. */
export function runChecked(argv: readonly string[], input?: string): string {
  const [file, ...args] = argv;
  if (!file) throw new Error("runChecked: empty argv");
  const result = spawnSync(file, args, { encoding: "utf8", input, timeout: 30_000 });
  if (result.error) throw new Error(`${argv.join(" ")}: ${result.error.message}`, { cause: result.error });
  if (result.status !== 0) {
    throw new Error(`${argv.join(" ")} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** `ip <args>` with the namespace selected by `-n` when it has a name, else through nsenter. */
export function ipIn(netns: NetnsRef, args: readonly string[], tool: "ip" | "bridge" = "ip"): string {
  const target = resolveNetns(netns);
  if (target.name !== undefined) return runChecked([tool, "-n", target.name, ...args]);
  return runChecked(["nsenter", `--net=${target.path}`, tool, ...args]);
}

/** Names of every namespace in /run/netns. */
export function listNetnsNames(): string[] {
  const out = runChecked(["ip", "-j", "netns", "list"]).trim();
  if (out === "") return [];
  return (JSON.parse(out) as { name: string }[]).map((entry) => entry.name);
}

/** Deletes a named namespace; a namespace already gone is fine. */
export function deleteNetns(name: string): void {
  const inode = netnsInode(name);
  const result = spawnSync("ip", ["netns", "del", name], { encoding: "utf8" });
  if (result.status !== 0 && listNetnsNames().includes(name)) {
    throw new Error(`ip netns del ${name} failed: ${result.stderr.trim()}`);
  }
  if (inode !== undefined) removeHostLockFiles(inode);
}

function netnsInode(name: string): number | undefined {
  try {
    return fs.statSync(path.join(NETNS_DIR, name)).ino;
  } catch {
    return undefined;
  }
}

/**
 * A plugin run in a test "host" leaves one empty lock file per shared object, keyed by
 * the namespace's inode. Once the namespace is gone nothing can hold them, so they go
 * with it; otherwise every test run would add hundreds to /run/cnikit/locks.
 */
function removeHostLockFiles(inode: number): void {
  let files: string[];
  try {
    files = fs.readdirSync(DEFAULT_LOCK_DIR);
  } catch {
    return;
  }
  for (const file of files)
    if (isLockFileOf(file, inode)) fs.rmSync(path.join(DEFAULT_LOCK_DIR, file), { force: true });
}
