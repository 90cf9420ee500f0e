// Reading the plugin-by-hand options the way cnitool does: flags first, then the
// environment variables cnitool reads (CNI_IFNAME, CNI_ARGS, CAP_ARGS, NETCONFPATH).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseCniArgs } from "../cni/args";
import { splitCniPath } from "../cni/env";
import type { GcAttachment } from "../cni/gc";
import { netnsPathOf } from "../netns/netns";
import { CliError } from "./errors";
import { defaultPluginDir } from "./self";

export const DEFAULT_CACHE_DIR = "/var/lib/cni/cnikit";
const DEFAULT_NETCONF_PATH = "/etc/cni/net.d";
const CONFIG_EXTENSIONS = [".conf", ".conflist", ".json"];

export interface AttachmentOptions {
  ifname?: string;
  containerId?: string;
  args?: string;
  capabilityArgs?: string;
}

export function pluginPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = splitCniPath(env.CNI_PATH);
  return fromEnv.length > 0 ? fromEnv : [defaultPluginDir()];
}

/** A namespace argument of any command: a bare name in /run/netns, else a path from our working directory. */
export function netnsPathArg(nameOrPath: string): string {
  return netnsPathOf(nameOrPath, process.cwd());
}

/** As cnitool: a stable id from the namespace path, so ADD and DEL of one namespace match. */
export function containerIdFor(nsPath: string): string {
  return `cnikit-${crypto.createHash("sha512").update(nsPath).digest("hex").slice(0, 20)}`;
}

export function parseArgsOption(raw: string | undefined): [string, string][] {
  if (raw === undefined || raw === "") return [];
  return [...parseCniArgs(raw)];
}

export function parseCapabilityArgs(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new CliError(`--capability-args is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`--capability-args must be a JSON object, e.g. '{"portMappings":[...]}'`);
  }
  return parsed as Record<string, unknown>;
}

/** `id/ifname,id/ifname` or a JSON array of {containerID, ifname}. */
export function parseValidAttachments(raw: string | undefined): GcAttachment[] {
  if (raw === undefined || raw.trim() === "") return [];
  if (raw.trim().startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw new CliError(`--valid-attachments is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const list = Array.isArray(parsed) ? parsed : [];
    return list.map((entry: unknown, index) => {
      const { containerID, ifname } = (entry ?? {}) as Record<string, unknown>;
      if (typeof containerID !== "string" || typeof ifname !== "string") {
        throw new CliError(`--valid-attachments[${index}] needs string containerID and ifname`);
      }
      return { containerID, ifname };
    });
  }
  return raw.split(",").map((pair) => {
    const [containerID, ifname = "eth0", extra] = pair.trim().split("/");
    if (!containerID || extra !== undefined)
      throw new CliError(`--valid-attachments: bad entry ${JSON.stringify(pair)} (want CONTAINERID[/IFNAME])`);
    return { containerID, ifname };
  });
}

/** The config file: a path to a file, or a network name looked up in NETCONFPATH like cnitool. */
export function resolveConfigArg(arg: string, env: NodeJS.ProcessEnv = process.env): string {
  if (fs.existsSync(arg)) return arg;
  if (arg.includes("/") || CONFIG_EXTENSIONS.some((ext) => arg.endsWith(ext))) {
    throw new CliError(`network config ${arg} does not exist`);
  }
  const dirs = splitCniPath(env.NETCONFPATH ?? DEFAULT_NETCONF_PATH);
  for (const dir of dirs) {
    for (const file of listConfigFiles(dir)) {
      if (networkNameOf(file) === arg) return file;
    }
  }
  throw new CliError(`no config file ${arg}, and no network named ${arg} in ${dirs.join(":")}`);
}

function listConfigFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((file) => CONFIG_EXTENSIONS.includes(path.extname(file)))
      .sort()
      .map((file) => path.join(dir, file));
  } catch {
    return [];
  }
}

function networkNameOf(file: string): string | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown };
    return typeof parsed.name === "string" ? parsed.name : undefined;
  } catch {
    return undefined;
  }
}
