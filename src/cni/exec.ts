// Executing a plugin the way libcni does: find it in CNI_PATH, run it with the config
// on stdin, and turn its answer into a result or into its own CniError (same code,
// msg and details). Shared by delegation (plugin -> IPAM) and the runtime.
import type * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeJsonObject } from "./config";
import { CniError, ErrorCode } from "./errors";
import type { Env } from "./env";
import { parseResult } from "./result-convert";
import type { Result } from "./types";
import { configVersion } from "./versions";

/** The first regular file named `pluginType` in `dirs`, as libcni's FindInPath. */
export function findInPath(pluginType: string, dirs: readonly string[]): string {
  if (pluginType === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "no plugin name provided");
  if (pluginType.includes("/"))
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid plugin name: ${pluginType}`);
  for (const dir of dirs) {
    const candidate = path.join(dir, pluginType);
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory: keep looking
    }
  }
  throw new CniError(
    ErrorCode.PluginNotAvailable,
    `failed to find plugin ${JSON.stringify(pluginType)} in path [${dirs.join(" ")}]`,
  );
}

export interface PluginExit {
  status: number;
  stdout: string;
  stderr: string;
}

export interface PluginExecution {
  file: string;
  env: Env;
  stdin: Buffer;
  /** Runs the plugin through another program, e.g. ["nsenter", "--net=/run/netns/host1"]. */
  commandPrefix?: readonly string[];
}

function definedEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

export function execPluginSync(execution: PluginExecution): PluginExit {
  const argv = [...(execution.commandPrefix ?? []), execution.file];
  const program = argv[0] ?? execution.file;
  // Loaded here, not at the top: host-local normally runs in-process and never spawns.
  const { spawnSync } = require("node:child_process") as typeof childProcess;
  const child = spawnSync(program, argv.slice(1), {
    input: execution.stdin,
    env: definedEnv(execution.env),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  // A plugin that exits without reading its stdin (a crash) makes our write fail with
  // EPIPE; what it printed and its status are still what the caller needs.
  const ePipe = (child.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE";
  if (child.error && !(ePipe && (child.status !== null || child.signal !== null))) {
    throw new CniError(ErrorCode.IoFailure, `failed to execute plugin ${execution.file}: ${child.error.message}`, "", {
      cause: child.error,
    });
  }
  if (child.signal) {
    return { status: 128, stdout: child.stdout, stderr: `${child.stderr}plugin killed by signal ${child.signal}` };
  }
  return { status: child.status ?? 1, stdout: child.stdout, stderr: child.stderr };
}

/** A failed plugin's error, unchanged when it printed a CNI error object (as libcni reads it otherwise). */
export function pluginFailure(exit: PluginExit): CniError {
  const stdout = exit.stdout.trim();
  if (stdout === "") {
    const stderr = exit.stderr.trim();
    const msg = stderr
      ? `netplugin failed: ${JSON.stringify(stderr)}`
      : `netplugin failed with no error message: exit status ${exit.status}`;
    return new CniError(ErrorCode.Internal, msg);
  }
  try {
    const body = decodeJsonObject(stdout, "plugin error");
    if (typeof body.code === "number" && typeof body.msg === "string") {
      return new CniError(body.code, body.msg, typeof body.details === "string" ? body.details : "");
    }
  } catch {
    // fall through to the generic message below
  }
  return new CniError(
    ErrorCode.Internal,
    `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}`,
  );
}

/** stdout of a successful run; the plugin's CniError otherwise. */
export function requireSuccess(exit: PluginExit): string {
  if (exit.status !== 0) throw pluginFailure(exit);
  return exit.stdout;
}

/**
 * Reads an ADD result of any version into the 1.1.0 shape. A result without
 * cniVersion is read as the version of the config that produced it.
 */
export function parsePluginResult(stdout: string, stdinConfig: Buffer): Result {
  const raw = decodeJsonObject(stdout, "plugin result");
  if (typeof raw.cniVersion !== "string" || raw.cniVersion === "") {
    try {
      raw.cniVersion = configVersion(decodeJsonObject(stdinConfig));
    } catch {
      // the config was the plugin's business; read the result as it is
    }
  }
  return parseResult(raw);
}
