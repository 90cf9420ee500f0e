// The etcd3 client as the agent uses it. Loaded lazily: it pulls in gRPC, which no
// plugin path may pay for.
import type { Etcd3 } from "etcd3";
import type { EtcdSecurity } from "./etcd-security";

export interface EtcdClientOptions {
  /** "http://198.18.0.10:2379,http://..." or a list. */
  endpoints: string | readonly string[];
  /** Longest pause between watch reconnection attempts (ms); etcd3's default is 30 s. */
  maxReconnectDelayMs?: number;
  /** TLS and/or user auth (etcd-security.ts); none: plain http://. */
  security?: EtcdSecurity;
}

export function parseEndpoints(endpoints: string | readonly string[]): string[] {
  const list = (typeof endpoints === "string" ? endpoints.split(",") : [...endpoints])
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error("--etcd: no endpoint given");
  return list.map((endpoint) => {
    const withScheme = /^[a-z]+:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch (err) {
      throw new Error(`--etcd: ${JSON.stringify(endpoint)} is not an endpoint URL`, { cause: err });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`--etcd: ${JSON.stringify(endpoint)}: only http:// and https:// are supported`);
    return `${url.protocol}//${url.host}`;
  });
}

/**
 * A capped exponential backoff in the shape etcd3's watch manager expects: an etcd
 * restart should be noticed in a second or two, not after half a minute.
 */
export interface ReconnectBackoff {
  readonly duration: number;
  next(): ReconnectBackoff;
}

export function cappedBackoff(maxDelayMs: number, delayMs = 100): ReconnectBackoff {
  return { duration: delayMs, next: () => cappedBackoff(maxDelayMs, Math.min(delayMs * 2, maxDelayMs)) };
}

let addressServernameAllowed = false;

/**
 * gRPC names the endpoint's host as the TLS server name even when it is an address.
 * Node leaves an address out of SNI (it carries names only) and still checks the
 * certificate against it; Bun refuses the connection instead. So an address is dropped
 * from `servername` here, once per process: the identity check then uses `host`.
 */
function allowAddressServername(): void {
  if (addressServernameAllowed) return;
  addressServernameAllowed = true;
  const tls = require("node:tls") as { connect: (...args: unknown[]) => unknown };
  const { isIP } = require("node:net") as typeof import("node:net");
  const connect = tls.connect;
  tls.connect = function connectWithoutAddressServername(this: unknown, ...args: unknown[]) {
    const options = args[0] as { servername?: unknown } | undefined;
    if (typeof options?.servername === "string" && isIP(options.servername) !== 0) {
      const { servername: _address, ...rest } = options;
      args[0] = rest;
    }
    return connect.apply(this, args);
  };
}

export function createEtcdClient(options: EtcdClientOptions): Etcd3 {
  require("./etcd-protos").ensureEtcdProtos();
  if (options.security?.tls) allowAddressServername();
  const { Etcd3: Client } = require("etcd3") as typeof import("etcd3");
  const { tls, auth } = options.security ?? {};
  return new Client({
    hosts: parseEndpoints(options.endpoints),
    // gRPC takes a missing root certificate as "the system's roots".
    ...(tls && { credentials: tls as { rootCertificate: Buffer } }),
    ...(auth && { auth: { ...auth, callOptions: () => ({ deadline: Date.now() + 5_000 }) } }),
    dialTimeout: 3_000,
    // A request must not hang for longer than a lease lives: a partition is noticed and retried.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5_000 }),
    faultHandling: { watchBackoff: cappedBackoff(options.maxReconnectDelayMs ?? 2_000) as never },
  });
}
