// The daemon's Prometheus metrics (prom-client): requests by plugin, command and result
// code, latency, requests in flight, worker replacements, and host-local addresses used
// and free per network and range. Address counts are read from the data directory at
// scrape time, for every host-local network the daemon has served, so they also see
// leases that other processes (a standalone call, the Go plugin) wrote.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { canonicalizeRange, capacityOf, rangeFor, rangeLabel, type Range } from "../../ipam/host-local/range";
import { parseIp } from "../ip/address";
import type { IpamUse } from "./messages";

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly networks = new Map<string, IpamUse>();
  readonly requests = new Counter({
    name: "cnikit_requests_total",
    help: "Plugin calls served, by plugin, CNI command and result code (0: success)",
    labelNames: ["plugin", "command", "code"],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "cnikit_request_duration_seconds",
    help: "Time from a request's body to its answer",
    labelNames: ["plugin", "command"],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  readonly restarts = new Counter({
    name: "cnikit_worker_restarts_total",
    help: "Workers replaced after a crash or a request past its time limit",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: "cnikit_connections_refused_total",
    help: "Connections not served, by reason",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  /** `inFlight`: the requests being served now, read at scrape time (the workers' slots). */
  constructor(inFlight: () => number) {
    const networks = this.networks;
    new Gauge({
      name: "cnikit_requests_in_flight",
      help: "Requests being served now",
      registers: [this.registry],
      collect() {
        this.set(inFlight());
      },
    });
    new Gauge({
      name: "cnikit_hostlocal_addresses",
      help: "host-local addresses per network and range: used (a lease file) or free",
      labelNames: ["network", "range", "state"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const use of networks.values())
          for (const row of addressUse(use)) {
            this.set({ network: use.network, range: row.range, state: "used" }, row.used);
            this.set({ network: use.network, range: row.range, state: "free" }, row.free);
          }
      },
    });
  }

  sawNetwork(use: IpamUse): void {
    this.networks.set(`${use.dataDir}\0${use.network}`, use);
  }

  /** Serves /metrics on host:port (in the daemon's own namespace). */
  listen(address: string): Promise<http.Server> {
    const colon = address.lastIndexOf(":");
    const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`--metrics: ${JSON.stringify(address)} is not HOST:PORT`);
    const server = http.createServer((request, response) => {
      if (request.url !== "/metrics") {
        response.writeHead(404).end("see /metrics\n");
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { "Content-Type": this.registry.contentType }).end(text),
        (err: Error) => response.writeHead(500).end(`${err.message}\n`),
      );
    });
    server.requestTimeout = 10_000;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}

interface RangeUse {
  range: string;
  used: number;
  free: number;
}

/** Lease files (named by address, as the reference writes them) counted against each range. */
function addressUse(use: IpamUse): RangeUse[] {
  const ranges: Range[] = [];
  for (const [setIndex, set] of use.ranges.entries()) {
    for (const [index, input] of set.entries()) {
      try {
        ranges.push(canonicalizeRange(input, `ipam.ranges[${setIndex}][${index}]`));
      } catch {
        // a range the plugin itself refused: nothing to count
      }
    }
  }
  const used = new Map<Range, number>(ranges.map((range) => [range, 0]));
  let files: string[] = [];
  try {
    files = fs.readdirSync(path.join(use.dataDir, use.network));
  } catch {
    // no lease yet
  }
  for (const file of files) {
    const address = parseIp(file);
    const range = address && rangeFor(ranges, address);
    if (range) used.set(range, (used.get(range) ?? 0) + 1);
  }
  return ranges.map((range) => {
    const count = used.get(range) ?? 0;
    return { range: rangeLabel(range), used: count, free: Number(capacityOf(range)) - count };
  });
}
