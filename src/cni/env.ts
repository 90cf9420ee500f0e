// The CNI_* environment as the reference skel checks it: which variables each verb
// needs, and what a container ID and an interface name may look like. Every failure
// is code 4 and names the variable.
import { CniError, ErrorCode } from "./errors";
import type { CniCommand } from "./versions";

export const CNI_COMMANDS: readonly CniCommand[] = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];

export function isCniCommand(value: string): value is CniCommand {
  return (CNI_COMMANDS as readonly string[]).includes(value);
}

/** The variables each verb cannot do without (CNI_NETNS is optional for DEL). */
const REQUIRED_VARS: Record<CniCommand, readonly string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  GC: ["CNI_PATH"],
  STATUS: [],
  VERSION: [],
};

export type Env = Readonly<Record<string, string | undefined>>;

export function requireEnvFor(command: CniCommand, env: Env): void {
  const missing = REQUIRED_VARS[command].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(" ")}] missing`);
  }
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function validateContainerId(containerId: string): void {
  if (containerId === "") throw new CniError(ErrorCode.InvalidEnvironment, "CNI_CONTAINERID is empty");
  if (!CONTAINER_ID.test(containerId)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      "CNI_CONTAINERID has invalid characters",
      `${JSON.stringify(containerId)}: letters, digits and _.- only, starting with a letter or digit`,
    );
  }
}

/** Linux's IFNAMSIZ is 16 including the terminating NUL. */
const MAX_IFNAME_BYTES = 15;

export function validateIfName(ifName: string): void {
  const shown = JSON.stringify(ifName);
  if (ifName === "") throw new CniError(ErrorCode.InvalidEnvironment, "CNI_IFNAME is empty");
  if (Buffer.byteLength(ifName, "utf8") > MAX_IFNAME_BYTES) {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_IFNAME is longer than ${MAX_IFNAME_BYTES} bytes`, shown);
  }
  if (ifName === "." || ifName === "..")
    throw new CniError(ErrorCode.InvalidEnvironment, "CNI_IFNAME cannot be . or ..", shown);
  if (/[/:\s]/.test(ifName)) {
    throw new CniError(ErrorCode.InvalidEnvironment, "CNI_IFNAME contains / or : or whitespace characters", shown);
  }
}

/** CNI_PATH split like a PATH: empty entries dropped. */
export function splitCniPath(value: string | undefined): string[] {
  return (value ?? "").split(":").filter((dir) => dir !== "");
}
