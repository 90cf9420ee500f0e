// `cnikit netns add|del|list|exec`: named namespaces through the native layer, no `ip`.
import * as fs from "node:fs";
import { isNativeError, native } from "../../native";
import { setLinkUp } from "../netlink/links";
import { Handle } from "../netlink/handle";
import { NETNS_RUN_DIR, checkNetnsPath, createNamedNetns, deleteNamedNetns, namedNetnsPath } from "../netns/netns";
import { netnsPathArg } from "./cni-options";
import { CliError } from "./errors";
import { formatTable, writeJson, writeStdout } from "./output";

/** What `ip netns add` accepts: a single path component. */
const NETNS_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;

export function checkNetnsName(name: string): void {
  if (!NETNS_NAME.test(name) || name === "." || name === ".." || name.length > 200) {
    throw new CliError(`invalid namespace name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
  }
}

/** A namespace argument (netnsPathArg: a name in /run/netns or a path), checked to be a netns. */
export function resolveNetnsArg(nameOrPath: string): string {
  if (!nameOrPath.includes("/")) checkNetnsName(nameOrPath);
  const nsPath = netnsPathArg(nameOrPath);
  try {
    checkNetnsPath(nsPath);
  } catch (err) {
    throw new CliError((err as Error).message, { cause: err });
  }
  return nsPath;
}

/** Creates the namespace with `lo` up (most tools expect a working loopback). Existing is an error. */
export function netnsAdd(name: string): void {
  checkNetnsName(name);
  let nsPath: string;
  try {
    nsPath = createNamedNetns(name);
  } catch (err) {
    if (isNativeError(err) && err.code === "EEXIST")
      throw new CliError(`namespace ${name} already exists`, { cause: err });
    throw err;
  }
  const handle = Handle.at(nsPath);
  try {
    setLinkUp(handle, "lo");
  } finally {
    handle.close();
  }
}

/** Removes named namespaces; one that is already gone is fine (so scripts can clean up twice). */
export function netnsDel(names: readonly string[]): void {
  for (const name of names) checkNetnsName(name);
  for (const name of names) deleteNamedNetns(name);
}

export function listNamedNetns(): string[] {
  try {
    return fs.readdirSync(NETNS_RUN_DIR).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

export function netnsList(options: { json?: boolean }): void {
  const names = listNamedNetns();
  if (options.json) {
    writeJson(names.map((name) => ({ name, path: namedNetnsPath(name) })));
    return;
  }
  if (names.length === 0) return;
  writeStdout(
    formatTable(
      ["NAME", "PATH"],
      names.map((name) => [name, namedNetnsPath(name)]),
    ),
  );
}

/** Runs argv inside the namespace with our stdio; the exit status becomes ours. */
export function netnsExec(nameOrPath: string, commandWords: readonly string[]): void {
  // With pass-through options commander keeps a "--" that separates the command.
  const argv = commandWords[0] === "--" ? commandWords.slice(1) : commandWords;
  if (argv.length === 0) throw new CliError("netns exec: no command given (cnikit netns exec NAME -- CMD [ARGS...])");
  const nsPath = resolveNetnsArg(nameOrPath);
  let status: number;
  try {
    status = native().execInNetns(nsPath, [...argv]);
  } catch (err) {
    throw new CliError(`netns exec ${argv[0]}: ${(err as Error).message}`, { cause: err });
  }
  process.exitCode = status;
}
