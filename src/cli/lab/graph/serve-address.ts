// The address `cnikit lab graph --serve` listens on: a loopback address and a port,
// `127.0.0.1:8080` or `[::1]:8080`. The page shows a lab's topology and state, so it
// is only ever served to this machine (or namespace): any other address is refused,
// and so is a host name, whose address would be whatever the resolver says.
import * as net from "node:net";
import { CliError } from "../../errors";

export interface ServeAddress {
  host: string;
  /** 0 asks the kernel for a free port (the one it gave is printed). */
  port: number;
}

export function isLoopbackAddress(host: string): boolean {
  if (net.isIPv4(host)) return host.split(".")[0] === "127";
  // The URL parser writes an IPv6 address in its shortest form: ::1 however it was spelt.
  return net.isIPv6(host) && new URL(`http://[${host}]/`).hostname === "[::1]";
}

export function parseServeAddress(text: string): ServeAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || !(port >= 0 && port <= 65535))
    throw new CliError(`--serve: want ADDRESS:PORT like 127.0.0.1:8080 or [::1]:8080, got ${JSON.stringify(text)}`);
  if (net.isIP(host) === 0)
    throw new CliError(
      `--serve: ${JSON.stringify(host)} is not an IP address; give a loopback address such as 127.0.0.1`,
    );
  if (!isLoopbackAddress(host))
    throw new CliError(`--serve: ${host} is not a loopback address; the page is served on 127.0.0.0/8 or ::1 only`);
  return { host, port };
}

/** How the address appears in a URL and in the Host header browsers send. */
export function hostPort(address: ServeAddress): string {
  return `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
}
