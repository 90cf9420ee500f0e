// A throwaway certificate authority for an etcd that requires client certificates (labs
// and tests): a CA, etcd's server certificate for its underlay address, and client
// certificates, made with openssl in a directory of their own (keys mode 0600).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export interface CertPair {
  certFile: string;
  keyFile: string;
}

export interface EtcdCertificates {
  caFile: string;
  server: CertPair;
  /** By client name. */
  clients: Record<string, CertPair>;
}

function openssl(args: readonly string[]): void {
  const run = spawnSync("openssl", args, { encoding: "utf8", timeout: 20_000 });
  if (run.status !== 0)
    throw new Error(
      `openssl ${args[0]} failed (${run.error?.message ?? run.status}): ${run.stderr.trim().slice(-300)}`,
    );
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A key and a certificate for `name`, signed by the CA in `dir` and valid for `days`. */
function signed(dir: string, name: string, extensions: readonly string[], days: number): CertPair {
  const pair = { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
  const request = path.join(dir, `${name}.csr`);
  openssl(["req", "-new", ...EC_KEY, "-keyout", pair.keyFile, "-out", request, "-subj", `/CN=${name}`, ...extensions]);
  openssl([
    ...["x509", "-req", "-in", request, "-CA", path.join(dir, "ca.pem"), "-CAkey", path.join(dir, "ca.key")],
    ...["-CAcreateserial", "-out", pair.certFile, "-days", String(days), "-copy_extensions", "copy"],
  ]);
  fs.rmSync(request, { force: true });
  fs.chmodSync(pair.keyFile, 0o600);
  return pair;
}

/** A CA in `dir`, etcd's certificate for `serverAddress`, and one client certificate per name. */
export function makeEtcdCertificates(
  dir: string,
  options: { serverAddress: string; clients: readonly string[]; days?: number },
): EtcdCertificates {
  const days = options.days ?? 30;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = path.join(dir, "ca.pem");
  const caKey = path.join(dir, "ca.key");
  openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    String(days),
    "-subj",
    "/CN=cnikit-etcd-ca",
  ]);
  fs.chmodSync(caKey, 0o600);
  const san = net.isIP(options.serverAddress) ? `IP:${options.serverAddress}` : `DNS:${options.serverAddress}`;
  const server = signed(
    dir,
    "etcd-server",
    ["-addext", `subjectAltName=${san}`, "-addext", "extendedKeyUsage=serverAuth,clientAuth"],
    days,
  );
  const clients: Record<string, CertPair> = {};
  for (const name of options.clients)
    clients[name] = signed(dir, name, ["-addext", "extendedKeyUsage=clientAuth"], days);
  return { caFile, server, clients };
}
