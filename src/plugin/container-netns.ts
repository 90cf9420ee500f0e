// Opening the container's namespace for a plugin command, with the checks every
// plugin needs: the path must be a network namespace, and never the namespace the
// plugin itself runs in (configuring that "container" would reconfigure the host).
import { CniError, ErrorCode } from "../cni/errors";
import { Handle } from "../netlink/handle";
import { NetnsError } from "../netns/errors";
import { checkNetnsPath, currentNetnsPath, sameNetns } from "../netns/netns";

function netnsFailure(netns: string, err: unknown): CniError {
  const message = err instanceof Error ? err.message : String(err);
  return new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS ${JSON.stringify(netns)}: ${message}`, "", {
    cause: err,
  });
}

/** Checks CNI_NETNS and opens a handle in it; errors are CNI code 4 naming the path. */
export function openContainerNetns(netns: string): Handle {
  try {
    checkNetnsPath(netns);
  } catch (err) {
    throw netnsFailure(netns, err);
  }
  if (sameNetns(netns, currentNetnsPath()))
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_NETNS ${JSON.stringify(netns)} is the plugin's own network namespace, not a container's`,
    );
  try {
    return Handle.at(netns);
  } catch (err) {
    throw netnsFailure(netns, err);
  }
}

/** For DEL: the handle, or undefined when the namespace is already gone (DEL must still succeed). */
export function openContainerNetnsIfPresent(netns: string): Handle | undefined {
  if (netns === "") return undefined;
  try {
    return openContainerNetns(netns);
  } catch (err) {
    const cause = err instanceof CniError ? err.cause : err;
    if (cause instanceof NetnsError && cause.code === "ENOENT") return undefined;
    throw err;
  }
}

export function withHandle<T>(handle: Handle, body: (handle: Handle) => T): T {
  try {
    return body(handle);
  } finally {
    handle.close();
  }
}

/** Runs `body` with a handle in the container's namespace (checked as above) and one on the host; closes both. */
export async function withHostAndContainer<T>(
  netns: string,
  body: (host: Handle, container: Handle) => Promise<T>,
): Promise<T> {
  const container = openContainerNetns(netns);
  try {
    return await withHandleAsync(Handle.at(null), (host) => body(host, container));
  } finally {
    container.close();
  }
}

async function withHandleAsync<T>(handle: Handle, body: (handle: Handle) => Promise<T>): Promise<T> {
  try {
    return await body(handle);
  } finally {
    handle.close();
  }
}
