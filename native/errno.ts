// Errno names, the one table of them: the addon throws errors with the number only and
// native/index.ts names them here; netlink errors (src/netlink/codec/errors.ts) use the same.
import type * as os from "node:os";

// Built on the first uncommon error only: a plugin that meets none should not pay for
// loading node:os and building the table (about 1 ms in the compiled executable).
let errnoNames: Map<number, string> | undefined;

function errnoNameTable(): Map<number, string> {
  if (errnoNames) return errnoNames;
  const errno = (require("node:os") as typeof os).constants.errno;
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(errno)) {
    if (!names.has(value)) names.set(value, name);
  }
  // Numbers with two names on Linux: use the one the kernel's netlink code returns.
  names.set(errno.EOPNOTSUPP, "EOPNOTSUPP");
  names.set(errno.EAGAIN, "EAGAIN");
  errnoNames = names;
  return names;
}

/**
 * The errnos that normal calls meet (a container interface not there yet, a link
 * already deleted with its peer, an object that exists, a socket with nothing to read
 * yet), with libuv's texts: these need no table. Every standalone ADD meets one, and
 * building the tables cost 5.7 ms the first time in a process (measured under Bun from
 * source; test/unit/netlink checks these against the tables).
 */
export const COMMON_ERRNOS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [2, ["ENOENT", "no such file or directory"]],
  [3, ["ESRCH", "no such process"]],
  [11, ["EAGAIN", "resource temporarily unavailable"]],
  [17, ["EEXIST", "file already exists"]],
  [19, ["ENODEV", "no such device"]],
  [99, ["EADDRNOTAVAIL", "address not available"]],
]);

/** "EEXIST" for 17; `E<n>` for a number Linux has no name for. */
export function errnoCode(errno: number): string {
  return COMMON_ERRNOS.get(errno)?.[0] ?? errnoNameTable().get(errno) ?? `E${errno}`;
}
