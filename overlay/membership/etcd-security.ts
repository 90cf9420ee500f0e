// How the overlay commands authenticate to etcd: TLS (a CA to verify etcd's certificate,
// a client certificate and key for an etcd run with --client-cert-auth) and/or etcd's
// user/password auth. Files are read and checked once, before any connection, so a
// missing file, a key that does not match its certificate or certificates given for an
// http:// endpoint are errors naming the flag, never a connection that hangs or retries.
import * as crypto from "node:crypto";
import { FileRefusedError, readRegularFile } from "../../src/cni/safe-file";

/** The flags as commander hands them over. */
export interface EtcdSecurityFlags {
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPassword?: string;
  /** The password in a file, so that it is not on the command line (ps, /proc/<pid>/cmdline). */
  etcdPasswordFile?: string;
}

export interface EtcdTls {
  /** PEM; absent: the system's roots verify etcd. */
  rootCertificate?: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
}

export interface EtcdSecurity {
  tls?: EtcdTls;
  auth?: { username: string; password: string };
}

/** Far more than a PEM certificate chain or key. */
const PEM_MAX_BYTES = 1 << 20;
/** Far more than any password. */
const PASSWORD_MAX_BYTES = 4 << 10;

function readPem(flag: string, file: string): Buffer {
  try {
    return readRegularFile(file, PEM_MAX_BYTES);
  } catch (err) {
    const what = err instanceof FileRefusedError ? err.what : String(err);
    throw new Error(`${flag}: cannot read ${JSON.stringify(file)}: ${what}`);
  }
}

function parseCertificate(flag: string, file: string, pem: Buffer): crypto.X509Certificate {
  try {
    return new crypto.X509Certificate(pem);
  } catch (err) {
    throw new Error(`${flag}: ${JSON.stringify(file)} is not a PEM certificate: ${(err as Error).message}`);
  }
}

function clientCertificate(flags: EtcdSecurityFlags): Pick<EtcdTls, "certChain" | "privateKey"> {
  const { etcdCert, etcdKey } = flags;
  if (etcdCert === undefined && etcdKey === undefined) return {};
  if (etcdCert === undefined || etcdKey === undefined)
    throw new Error(
      `${etcdCert === undefined ? "--etcd-key" : "--etcd-cert"}: needs ${etcdCert === undefined ? "--etcd-cert" : "--etcd-key"} too`,
    );
  const certChain = readPem("--etcd-cert", etcdCert);
  const privateKey = readPem("--etcd-key", etcdKey);
  const certificate = parseCertificate("--etcd-cert", etcdCert, certChain);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(privateKey);
  } catch (err) {
    throw new Error(`--etcd-key: ${JSON.stringify(etcdKey)} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key))
    throw new Error(
      `--etcd-key: ${JSON.stringify(etcdKey)} is not the key of the certificate ${JSON.stringify(etcdCert)}`,
    );
  return { certChain, privateKey };
}

/** Checks and reads the flags; `endpoints` are the parsed URLs (TLS needs https://, and https:// needs TLS). */
export function etcdSecurityFromFlags(flags: EtcdSecurityFlags, endpoints: readonly string[]): EtcdSecurity {
  const security: EtcdSecurity = {};
  const client = clientCertificate(flags);
  const wantsTls = flags.etcdCacert !== undefined || client.certChain !== undefined;
  const https = endpoints.filter((endpoint) => endpoint.startsWith("https:"));
  if (wantsTls && https.length !== endpoints.length)
    throw new Error(
      `--etcd: ${endpoints.find((endpoint) => !endpoint.startsWith("https:"))} is not https://, but --etcd-cacert/--etcd-cert ask for TLS`,
    );
  if (wantsTls || https.length > 0) {
    if (https.length !== endpoints.length) throw new Error("--etcd: mixes http:// and https:// endpoints");
    const rootCertificate = flags.etcdCacert === undefined ? undefined : readPem("--etcd-cacert", flags.etcdCacert);
    if (rootCertificate && flags.etcdCacert) parseCertificate("--etcd-cacert", flags.etcdCacert, rootCertificate);
    security.tls = { ...(rootCertificate && { rootCertificate }), ...client };
  }
  const auth = userAuth(flags);
  if (auth) security.auth = auth;
  return security;
}

function userAuth(flags: EtcdSecurityFlags): EtcdSecurity["auth"] {
  const { etcdUser, etcdPassword, etcdPasswordFile } = flags;
  if (etcdPassword !== undefined && etcdPasswordFile !== undefined)
    throw new Error("--etcd-password-file: give the password once, in the file or as --etcd-password, not both");
  const passwordFlag = etcdPasswordFile !== undefined ? "--etcd-password-file" : "--etcd-password";
  if (etcdUser === undefined && etcdPassword === undefined && etcdPasswordFile === undefined) return undefined;
  if (etcdUser === undefined) throw new Error(`${passwordFlag}: needs --etcd-user too`);
  if (etcdPassword === undefined && etcdPasswordFile === undefined)
    throw new Error("--etcd-user: needs --etcd-password or --etcd-password-file too");
  const password = etcdPasswordFile === undefined ? (etcdPassword ?? "") : readPasswordFile(etcdPasswordFile);
  return { username: etcdUser, password };
}

/** The file's text without one trailing newline (what `echo secret > file` leaves); empty is refused. */
function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = readRegularFile(file, PASSWORD_MAX_BYTES).toString("utf8");
  } catch (err) {
    const what = err instanceof FileRefusedError ? err.what : String(err);
    throw new Error(`--etcd-password-file: cannot read ${JSON.stringify(file)}: ${what}`);
  }
  const password = text.replace(/\r?\n$/, "");
  if (password.length === 0) throw new Error(`--etcd-password-file: ${JSON.stringify(file)} is empty`);
  if (/[\r\n]/.test(password))
    throw new Error(`--etcd-password-file: ${JSON.stringify(file)} holds more than one line; a password is one`);
  return password;
}

const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EADDRNOTAVAIL"]);

export interface TlsProbe {
  /** "tls": etcd answered and the handshake failed (a certificate problem); "connect": etcd did not answer. */
  kind: "tls" | "connect";
  message: string;
}

/**
 * One TLS handshake with `endpoint` using the configured certificates, for the reason a
 * gRPC call only reports as "unavailable". A server that refuses our client certificate
 * says so in an alert just after the handshake (TLS 1.3), hence the short wait after it.
 * Resolves undefined when the handshake is accepted; bounded by `timeoutMs`.
 */
export async function probeEtcdTls(endpoint: string, tls: EtcdTls, timeoutMs = 3_000): Promise<TlsProbe | undefined> {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const { connect } = require("node:tls") as typeof import("node:tls");
  return new Promise((resolve) => {
    let settled = false;
    const finish = (probe: TlsProbe | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(
      () => finish({ kind: "connect", message: `no TLS handshake with ${endpoint} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const socket = connect({
      host,
      port: Number(url.port || 2379),
      ALPNProtocols: ["h2"],
      ...(tls.rootCertificate && { ca: tls.rootCertificate }),
      ...(tls.certChain && { cert: tls.certChain, key: tls.privateKey }),
      // SNI takes names only; an address is checked against the certificate's IP SANs anyway.
      ...(require("node:net").isIP(host) === 0 && { servername: host }),
    });
    socket.on("secureConnect", () => setTimeout(() => finish(undefined), 500));
    socket.on("error", (err: NodeJS.ErrnoException) =>
      finish({
        kind: CONNECTION_ERRORS.has(err.code ?? "") ? "connect" : "tls",
        message: `TLS with ${endpoint} failed: ${err.message}${err.code ? ` (${err.code})` : ""}`,
      }),
    );
  });
}
