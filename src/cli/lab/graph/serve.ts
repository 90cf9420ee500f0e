// `cnikit lab graph --serve 127.0.0.1:PORT`: the graph page, live. Two routes: `/` is the
// page, `/state.json` what the page polls (the body markup and its hash, rebuilt from the
// lab's state and the kernel on each request; `?since=HASH` leaves the body out when it
// has not changed). It listens on the one loopback address given, answers only requests
// whose Host header is that address (so a web page that rebinds a DNS name to it cannot
// read the lab), and stops on SIGINT or SIGTERM.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describeFailure } from "../../errors";
import { writeProgress } from "../../output";
import type { GraphModel } from "./model";
import { bodyHash, contentSecurityPolicy, liveScript, renderGraphBody, renderGraphPage } from "./page";
import { type ServeAddress, hostPort } from "./serve-address";

export interface ServeGraphOptions {
  address: ServeAddress;
  lab: string;
  pollMs: number;
  /** Builds the model from the lab as it is now; throws when the lab is gone. */
  build: () => GraphModel;
}

export interface StateResponse {
  lab: string;
  updatedAt: string;
  hash?: string;
  body?: string;
  model?: GraphModel;
  error?: string;
}

/** One request as the router sees it (the rest of http.IncomingMessage does not matter here). */
export interface GraphRequest {
  method?: string;
  host?: string;
  url?: string;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const COMMON_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

function reply(status: number, type: string, body: string, extra: Record<string, string> = {}): GraphResponse {
  return { status, headers: { ...COMMON_HEADERS, "Content-Type": type, ...extra }, body };
}

const text = (status: number, body: string, extra?: Record<string, string>): GraphResponse =>
  reply(status, "text/plain; charset=utf-8", body, extra);

function stateOf(options: ServeGraphOptions, since: string | null): StateResponse {
  const updatedAt = new Date().toISOString();
  try {
    const model = options.build();
    const body = renderGraphBody(model);
    const hash = bodyHash(body);
    return since === hash ? { lab: options.lab, updatedAt, hash } : { lab: options.lab, updatedAt, hash, body, model };
  } catch (err) {
    return { lab: options.lab, updatedAt, error: describeFailure(err) };
  }
}

/** The answer to one request; `expectedHost` is the bound `address:port`. No I/O but `build`. */
export function respond(options: ServeGraphOptions, expectedHost: string, request: GraphRequest): GraphResponse {
  if (request.host !== expectedHost) return text(421, `this server answers for ${expectedHost} only\n`);
  if (request.method !== "GET" && request.method !== "HEAD") return text(405, "GET only\n", { Allow: "GET, HEAD" });
  const url = new URL(request.url ?? "/", `http://${expectedHost}`);
  if (url.pathname === "/state.json")
    return reply(
      200,
      "application/json; charset=utf-8",
      JSON.stringify(stateOf(options, url.searchParams.get("since"))),
    );
  if (url.pathname !== "/") return text(404, "not found: try / or /state.json\n");
  let page: string;
  try {
    page = renderGraphPage(options.build(), { generatedAt: new Date(), live: { pollMs: options.pollMs } });
  } catch (err) {
    return text(503, `cnikit lab graph: ${describeFailure(err)}\n`);
  }
  // The page carries its policy in a meta tag (a saved copy keeps it); the header adds what a
  // meta tag cannot say: that no other page may frame this one.
  return reply(200, "text/html; charset=utf-8", page, {
    "Content-Security-Policy": `${contentSecurityPolicy(liveScript(options.pollMs))}; frame-ancestors 'none'`,
  });
}

function handle(
  options: ServeGraphOptions,
  expectedHost: string,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): void {
  const answer = respond(options, expectedHost, {
    method: request.method,
    host: request.headers.host,
    url: request.url,
  });
  response.writeHead(answer.status, { ...answer.headers, "Content-Length": String(Buffer.byteLength(answer.body)) });
  response.end(request.method === "HEAD" ? undefined : answer.body);
}

/** Serves until SIGINT or SIGTERM; resolves once the server has closed. */
export async function serveGraph(options: ServeGraphOptions): Promise<void> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `--serve ${hostPort(options.address)}: ${err.code === "EADDRINUSE" ? "the port is in use" : err.message}`,
          { cause: err },
        ),
      ),
    );
    // exclusive: never share the port with another process's listener (cluster mode).
    server.listen({ host: options.address.host, port: options.address.port, exclusive: true }, resolve);
  });
  const bound = { host: options.address.host, port: (server.address() as AddressInfo).port };
  const expectedHost = hostPort(bound);
  server.on("request", (request, response) => handle(options, expectedHost, request, response));
  writeProgress(
    `serving lab ${options.lab} on http://${expectedHost}/ (state.json every ${options.pollMs} ms; Ctrl-C stops)`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      writeProgress(`${signal}: stopping`);
      server.close(() => resolve());
      // A browser's keep-alive connection would hold close() open; it has no request in flight to lose.
      server.closeAllConnections();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
