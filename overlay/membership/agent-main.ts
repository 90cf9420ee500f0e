// `cnikit overlay agent`: runs the agent until SIGTERM/SIGINT. Logs go to stderr with
// synchronous writes, so the last line before exit is never lost in a pipe.
import { writeAllSync } from "../../src/cni/process-io";
import { OverlayAgent } from "./agent";
import { parseEndpoints } from "./etcd-client";
import { type EtcdSecurity, type EtcdSecurityFlags, etcdSecurityFromFlags, probeEtcdTls } from "./etcd-security";
import { DEFAULT_KEY_PREFIX, validHostId } from "./records";

export interface AgentCliOptions extends EtcdSecurityFlags {
  etcd: string;
  network: string;
  hostId?: string;
  underlayAddress?: string;
  vtepMac?: string;
  peersFile?: string;
  subnetFile?: string;
  ttl?: string;
  mtu?: string;
  keyPrefix?: string;
  revokeOnExit?: boolean;
  /** With a VNI the agent also programs the VTEP (as the plugin would) and publishes its MAC. */
  vni?: string;
  mode?: string;
  bridge?: string;
}

export const DEFAULT_TTL_SECONDS = 20;

export function defaultStateDir(network: string): string {
  return `/run/cnikit/overlay/${network}`;
}

function positiveInteger(flag: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new Error(`${flag}: ${JSON.stringify(value)} is not a positive integer`);
  return Number(value);
}

export function makeLogger(network: string): (line: string) => void {
  return (line) => {
    writeAllSync(2, `${new Date().toISOString()} overlay ${network}: ${line}\n`);
  };
}

export async function runAgent(options: AgentCliOptions): Promise<void> {
  if (options.hostId !== undefined && !validHostId(options.hostId))
    throw new Error(`--host-id: ${JSON.stringify(options.hostId)}: use letters, digits, '_', '.', ':', '-'`);
  const stateDir = defaultStateDir(options.network);
  const mtu = positiveInteger("--mtu", options.mtu, undefined);
  const log = makeLogger(options.network);
  const kernel = kernelOptions(options, log);
  const endpoints = parseEndpoints(options.etcd);
  const security = etcdSecurityFromFlags(options, endpoints);
  await refuseBadCertificates(endpoints, security);
  const agent = new OverlayAgent({
    endpoints,
    security,
    network: options.network,
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    ttlSeconds: positiveInteger("--ttl", options.ttl, DEFAULT_TTL_SECONDS) ?? DEFAULT_TTL_SECONDS,
    peersFile: options.peersFile ?? `${stateDir}/peers.json`,
    subnetFile: options.subnetFile ?? `${stateDir}/subnet.json`,
    ...(options.underlayAddress && { underlayAddress: options.underlayAddress }),
    ...(options.hostId && { hostId: options.hostId }),
    ...(options.vtepMac && { vtepMac: options.vtepMac }),
    ...(kernel && !options.vtepMac && { vtepMac: kernel.vtepMacOf }),
    ...(kernel && { onMembers: kernel.onMembers }),
    ...(mtu !== undefined && { mtu }),
    revokeOnExit: options.revokeOnExit === true,
    log,
  });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): void => {
    if (stopping) return;
    log(
      `${signal}: stopping (${options.revokeOnExit ? "revoking the lease" : `lease kept, it runs out unless renewed within its TTL`})`,
    );
    stopping = agent.stop().finally(() => {
      log("stopped");
      // gRPC may hold sockets open a little longer; nothing is left to write.
      setTimeout(() => process.exit(0), 500).unref();
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    await agent.start();
  } catch (err) {
    if (stopping) return;
    await agent.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * A certificate etcd refuses (or one that does not verify etcd's) is a configuration
 * error: the agent stops at once saying so, instead of retrying forever. An etcd that
 * does not answer yet is waited for, as without TLS.
 */
async function refuseBadCertificates(endpoints: readonly string[], security: EtcdSecurity): Promise<void> {
  if (!security.tls) return;
  const probes = await Promise.all(endpoints.map((endpoint) => probeEtcdTls(endpoint, security.tls ?? {})));
  const refused = probes.find((probe) => probe?.kind === "tls");
  if (refused) throw new Error(`etcd: ${refused.message}`);
}

/** The kernel half, loaded only when the agent is given a VNI (it needs the native addon). */
function kernelOptions(options: AgentCliOptions, log: (line: string) => void) {
  if (options.vni === undefined) {
    if (options.mode !== undefined || options.bridge !== undefined) throw new Error("--mode and --bridge need --vni");
    return undefined;
  }
  const vni = positiveInteger("--vni", options.vni, undefined) ?? 0;
  if (vni > 16_777_215) throw new Error(`--vni: ${vni} is out of 1..16777215`);
  const mode = options.mode ?? "l2";
  if (mode !== "l2" && mode !== "l3") throw new Error(`--mode: ${JSON.stringify(mode)} is not l2 or l3`);
  const { kernelSync, publishedVtepMac } = require("./kernel-sync") as typeof import("./kernel-sync");
  return {
    // Only l3 VTEPs carry the derived MAC; an l2 VTEP's is the kernel's own and learnt by its peers.
    vtepMacOf: (underlay: string) => (mode === "l3" ? publishedVtepMac(vni, underlay) : undefined),
    onMembers: kernelSync({ mode, vni, ...(options.bridge && { bridgeName: options.bridge }), log }),
  };
}
