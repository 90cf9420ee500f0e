// The CNI edge of every plugin: environment and stdin in, exactly one JSON document
// (or nothing, for a successful DEL/CHECK/STATUS/GC) out, exit status 0 or 1. The
// logic is `runSkel` over an injected SkelIO, so that unit tests and in-process
// delegation run it without a process of their own; `pluginMain` binds it to ours.
import { versionText } from "./build-version";
import { decodeJsonObject, rememberDecoded } from "./config";
import { CniError, ErrorCode, toCniError } from "./errors";
import { isCniCommand, requireEnvFor, splitCniPath, validateContainerId, validateIfName, type Env } from "./env";
import { processIO } from "./process-io";
import { requestContext, withRequestContext } from "./request-context";
import type { CmdArgs, PluginFuncs, Result } from "./types";
import {
  CURRENT_VERSION,
  SUPPORTED_VERSIONS,
  configVersion,
  convertResult,
  isSupportedVersion,
  requireSupportedVersion,
  requireVerbInVersion,
  type CniCommand,
} from "./versions";

export interface SkelIO {
  env: Env;
  readStdin(): Buffer;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
  /**
   * Stdin already decoded (decodeJsonObject) by the caller, which read it only: a daemon
   * worker looks at the config before the skel runs (src/daemon/serve.ts), and one JSON
   * parse of it is enough.
   */
  decodedStdin?: Record<string, unknown>;
}

export interface PluginAbout {
  name: string;
  /** The version text after "v"; this build's (package version and commit) when absent. */
  version?: string;
}

/** What a plugin started with no CNI_COMMAND says about itself (one line). */
export function aboutLine(about: PluginAbout): string {
  const version = about.version ?? versionText();
  return `CNI ${about.name} plugin v${version}; CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}`;
}

function readStdin(io: SkelIO): Buffer {
  try {
    return io.readStdin();
  } catch (err) {
    if (err instanceof CniError) throw err; // already a CNI error (the addon a socket read needs is missing)
    throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(err as Error).message}`, "", { cause: err });
  }
}

function cmdArgsFrom(env: Env, stdinData: Buffer): CmdArgs {
  return {
    containerId: env.CNI_CONTAINERID ?? "",
    netns: env.CNI_NETNS ?? "",
    ifName: env.CNI_IFNAME ?? "",
    args: env.CNI_ARGS ?? "",
    path: splitCniPath(env.CNI_PATH),
    stdinData,
  };
}

/** stdin decoded once for the skel's checks and the error version (a decoding error is thrown only where it matters). */
function decodeOnce(stdinData: Buffer): { config?: Record<string, unknown>; error?: unknown } {
  try {
    return { config: decodeJsonObject(stdinData) };
  } catch (error) {
    return { error };
  }
}

/** The version to answer errors in: the config's when it is one we speak, else ours. */
export function errorVersionOfConfig(config: Record<string, unknown>): string {
  try {
    const version = configVersion(config);
    return isSupportedVersion(version) ? version : CURRENT_VERSION;
  } catch {
    return CURRENT_VERSION;
  }
}

/** Runs the verb; returns the JSON to print, or undefined when the verb prints nothing. */
async function dispatch(
  funcs: PluginFuncs,
  command: CniCommand,
  args: CmdArgs,
  version: string,
): Promise<string | undefined> {
  switch (command) {
    case "ADD": {
      const result: Result = await funcs.add(args);
      return JSON.stringify(convertResult(result, version));
    }
    case "DEL":
      await funcs.del(args);
      return undefined;
    case "CHECK":
      await funcs.check(args);
      return undefined;
    // A plugin without STATUS is available whenever it can run; one without GC has nothing to collect.
    case "STATUS":
      await funcs.status?.(args);
      return undefined;
    case "GC":
      await funcs.gc?.(args);
      return undefined;
    case "VERSION":
      return JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS });
  }
}

/** The whole CNI exchange over `io`; resolves to the exit status (never rejects). */
export function runSkel(funcs: PluginFuncs, about: PluginAbout, io: SkelIO): Promise<number> {
  // What the plugin reads of its caller besides stdin (test hooks, delegation's
  // environment, stderr) is this call's, also when a daemon worker runs it.
  return withRequestContext({ ...requestContext(), env: io.env, writeStderr: io.writeStderr }, () =>
    runSkelHere(funcs, about, io),
  );
}

async function runSkelHere(funcs: PluginFuncs, about: PluginAbout, io: SkelIO): Promise<number> {
  const command = io.env.CNI_COMMAND ?? "";
  if (command === "") {
    io.writeStderr(`${aboutLine(about)}\n`);
    return 0;
  }
  let errorVersion: string = CURRENT_VERSION;
  try {
    if (!isCniCommand(command)) throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`);
    const stdinData = readStdin(io);
    const decoded = io.decodedStdin ? { config: io.decodedStdin } : decodeOnce(stdinData);
    errorVersion = decoded.config ? errorVersionOfConfig(decoded.config) : CURRENT_VERSION;
    requireEnvFor(command, io.env);
    const args = cmdArgsFrom(io.env, stdinData);
    let version: string = CURRENT_VERSION;
    if (command !== "VERSION") {
      if (!decoded.config) throw decoded.error;
      const config = decoded.config;
      version = configVersion(config);
      if (typeof config.name !== "string" || config.name === "")
        throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
      if (command === "ADD" || command === "CHECK" || command === "DEL") {
        validateContainerId(args.containerId);
        validateIfName(args.ifName);
      }
      requireSupportedVersion(version);
      requireVerbInVersion(command, version);
    }
    if (decoded.config && command !== "VERSION") rememberDecoded(stdinData, decoded.config);
    const output = await dispatch(funcs, command, args, version);
    if (output !== undefined) io.writeStdout(output);
    return 0;
  } catch (err) {
    const cniError = toCniError(err);
    if (io.env.CNIKIT_DEBUG && err instanceof Error && err.stack) io.writeStderr(`${err.stack}\n`);
    io.writeStdout(JSON.stringify(cniError.toJSON(errorVersion)));
    return 1;
  }
}

/** A plugin's entry point: runs the skel on this process's env, stdin and stdout, and sets process.exitCode. */
export function pluginMain(funcs: PluginFuncs, about: PluginAbout): void {
  runSkel(funcs, about, processIO()).then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      // runSkel catches everything; this only fires if writing to stdout itself failed.
      process.stderr.write(`${about.name}: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
