// `cnikit probe`: UDP reachability, round trips and the largest datagram that crosses,
// between namespaces; a matrix, and a non-zero exit status when any pair fails.
import * as net from "node:net";
import * as path from "node:path";
import { NETNS_RUN_DIR } from "../netns/netns";
import { CliError } from "./errors";
import { resolveNetnsArg } from "./netns-cmd";
import { writeJson, writeProgress, writeStdout } from "./output";
import { judge, renderReports, type PairReport } from "./probe/report";
import { type ProbeEndpoint, type ProbePair, runProbes } from "./probe/runner";

export interface ProbeCliOptions {
  /** `--lab` alone is `true`: the only lab that is up. */
  lab?: string | boolean;
  from?: string;
  to?: string;
  address?: string;
  port?: string;
  count?: string;
  timeout?: string;
  sizes?: boolean;
  json?: boolean;
}

function integerOption(raw: string | undefined, name: string, fallback: number, range: [number, number]): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range[0] || value > range[1])
    throw new CliError(`${name} must be an integer from ${range[0]} to ${range[1]}, got ${JSON.stringify(raw)}`);
  return value;
}

function checkAddress(address: string, where: string): string {
  if (net.isIP(address) === 0) throw new CliError(`${where}: ${JSON.stringify(address)} is not an IP address`);
  return address;
}

function endpoint(nameOrPath: string): ProbeEndpoint {
  const netns = resolveNetnsArg(nameOrPath);
  return { name: path.dirname(netns) === NETNS_RUN_DIR ? path.basename(netns) : nameOrPath, netns };
}

/** `NS=ADDRESS` arguments: every ordered pair between them. */
function pairsFromEndpoints(specs: readonly string[]): ProbePair[] {
  const endpoints = specs.map((spec) => {
    const separator = spec.lastIndexOf("=");
    if (separator <= 0) throw new CliError(`endpoint ${JSON.stringify(spec)}: want NETNS=ADDRESS`);
    return {
      ...endpoint(spec.slice(0, separator)),
      address: checkAddress(spec.slice(separator + 1), `endpoint ${spec}`),
    };
  });
  return endpoints.flatMap((from) =>
    endpoints.filter((to) => to !== from).map((to) => ({ from, to, address: to.address })),
  );
}

/**
 * A lab container's endpoints: its first address of each family, so a dual-stack
 * container is probed over both (each family's own path: routes, MTU, neighbours). The
 * container's first family keeps its label; another is named "<label> (IPv6)".
 */
function labEndpoints(
  label: string,
  netns: string,
  cidrs: readonly string[],
): Array<ProbeEndpoint & { address: string; family: 4 | 6 }> {
  const byFamily = new Map<4 | 6, string>();
  for (const cidr of cidrs) {
    const address = cidr.split("/")[0] ?? "";
    const family = net.isIPv6(address) ? 6 : 4;
    if (!byFamily.has(family)) byFamily.set(family, address);
  }
  return [...byFamily].map(([family, address], index) => ({
    name: index === 0 ? label : `${label} (IPv${family})`,
    netns,
    address,
    family,
  }));
}

/** Every ordered pair of a lab's containers, once per family both have. */
function labPairs(lab: string | boolean): ProbePair[] {
  const { requireLabState } = require("./lab/state") as typeof import("./lab/state");
  const state = requireLabState(typeof lab === "string" ? lab : undefined);
  const endpoints = state.plan.containers.flatMap((container) =>
    labEndpoints(container.label, resolveNetnsArg(container.netns), state.addresses[container.label] ?? []),
  );
  return endpoints.flatMap((from) =>
    endpoints
      .filter((to) => to.netns !== from.netns && to.family === from.family)
      .map((to) => ({
        from: { name: from.name, netns: from.netns },
        to: { name: to.name, netns: to.netns },
        address: to.address,
      })),
  );
}

/** No endpoints, no --from and no --lab: the only lab that is up, as if --lab were given. */
function impliedLab(specs: readonly string[], options: ProbeCliOptions): string | boolean | undefined {
  if (options.lab) return options.lab;
  const nothingGiven =
    specs.length === 0 && options.from === undefined && options.to === undefined && options.address === undefined;
  if (!nothingGiven) return undefined;
  const { listLabNames } = require("./lab/state") as typeof import("./lab/state");
  const labs = listLabNames();
  if (labs.length === 1) return true;
  const why = labs.length === 0 ? "no lab is up" : `several labs are up (${labs.join(", ")}): name one with --lab NAME`;
  throw new CliError(
    `nothing to probe: ${why}; or give --from NS --to NS --address A, or two or more NS=ADDRESS endpoints`,
  );
}

export function probePairs(specs: readonly string[], options: ProbeCliOptions): ProbePair[] {
  const lab = impliedLab(specs, options);
  const pairs = [...pairsFromEndpoints(specs), ...(lab ? labPairs(lab) : [])];
  const single = [options.from, options.to, options.address].filter((value) => value !== undefined).length;
  if (single > 0 && single < 3) throw new CliError("--from, --to and --address go together");
  if (options.from && options.to && options.address) {
    pairs.push({
      from: endpoint(options.from),
      to: endpoint(options.to),
      address: checkAddress(options.address, "--address"),
    });
  }
  if (pairs.length === 0)
    throw new CliError(
      "nothing to probe: give --lab, --from NS --to NS --address A, or two or more NS=ADDRESS endpoints",
    );
  return pairs;
}

/** A probe of a lab leaves its matrix in the lab's state dir, for `lab graph` to colour its pairs. */
function recordLabMatrix(lab: string | boolean, reports: readonly PairReport[]): void {
  const { requireLabState } = require("./lab/state") as typeof import("./lab/state");
  const { recordLabProbe } = require("./lab/probe-record") as typeof import("./lab/probe-record");
  try {
    recordLabProbe(requireLabState(typeof lab === "string" ? lab : undefined).plan, reports);
  } catch (err) {
    // The matrix is printed already; a lab taken down meanwhile must not fail the probe.
    writeProgress(`note: probe matrix not recorded: ${(err as Error).message}`);
  }
}

/** Runs the probes, prints the matrix (or JSON), exits 1 when any pair is not ok. */
export async function probeCommand(specs: readonly string[], options: ProbeCliOptions): Promise<PairReport[]> {
  const lab = impliedLab(specs, options);
  const pairs = probePairs(specs, options);
  const port = options.port === undefined ? undefined : integerOption(options.port, "--port", 0, [1, 65535]);
  const results = await runProbes({
    pairs,
    ...(port === undefined ? {} : { port }),
    rttCount: integerOption(options.count, "--count", 3, [1, 100]),
    timeoutMs: integerOption(options.timeout, "--timeout", 1000, [10, 60_000]),
    sizes: options.sizes !== false,
  });
  const reports = results.map(judge);
  if (options.json) writeJson(reports);
  else writeStdout(renderReports(reports));
  if (lab) recordLabMatrix(lab, reports);
  if (reports.some((report) => report.verdict !== "ok")) process.exitCode = 1;
  return reports;
}
