// The etcd security flags, checked before any connection: pairs given together, TLS
// only with https:// endpoints, files read and matched (certificates made by openssl).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeEtcdCertificates } from "../../../overlay/membership/etcd-certs";
import { etcdSecurityFromFlags } from "../../../overlay/membership/etcd-security";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-etcd-sec-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = makeEtcdCertificates(dir, { serverAddress: "198.18.0.1", clients: ["agent", "other"] });
const https = ["https://198.18.0.1:2379"];

describe("etcdSecurityFromFlags", () => {
  it("is empty for plain http:// without flags, and TLS with the system roots for bare https://", () => {
    expect(etcdSecurityFromFlags({}, ["http://198.18.0.1:2379"])).toEqual({});
    expect(etcdSecurityFromFlags({}, https)).toEqual({ tls: {} });
  });

  it("reads the CA, the client certificate and its key", () => {
    const agent = certs.clients.agent;
    const security = etcdSecurityFromFlags(
      { etcdCacert: certs.caFile, etcdCert: agent?.certFile, etcdKey: agent?.keyFile },
      https,
    );
    expect(security.tls?.rootCertificate?.toString()).toContain("BEGIN CERTIFICATE");
    expect(security.tls?.certChain?.toString()).toContain("BEGIN CERTIFICATE");
    expect(security.tls?.privateKey?.toString()).toContain("PRIVATE KEY");
  });

  it("passes user and password on", () => {
    expect(etcdSecurityFromFlags({ etcdUser: "root", etcdPassword: "pw" }, https).auth).toEqual({
      username: "root",
      password: "pw",
    });
  });

  it("reads the password from --etcd-password-file, without its trailing newline", () => {
    const file = path.join(dir, "password");
    fs.writeFileSync(file, "s3cret pass\n", { mode: 0o600 });
    expect(etcdSecurityFromFlags({ etcdUser: "root", etcdPasswordFile: file }, https).auth).toEqual({
      username: "root",
      password: "s3cret pass",
    });
    fs.writeFileSync(file, "crlf\r\n");
    expect(etcdSecurityFromFlags({ etcdUser: "root", etcdPasswordFile: file }, https).auth?.password).toBe("crlf");
  });

  it.each([
    ["nothing", "", "is empty"],
    ["only a newline", "\n", "is empty"],
    ["two lines", "one\ntwo\n", "more than one line"],
    ["5000 bytes", "x".repeat(5000), "larger than"],
  ])("refuses a password file holding %s, naming the flag and the file", (_label, content, message) => {
    const file = path.join(dir, "bad-password");
    fs.writeFileSync(file, content);
    expect(() => etcdSecurityFromFlags({ etcdUser: "root", etcdPasswordFile: file }, https)).toThrow(
      new RegExp(`^--etcd-password-file: .*bad-password.*${message}`),
    );
  });

  it("refuses a password file that is absent, a directory or a symlink", () => {
    const link = path.join(dir, "password-link");
    fs.writeFileSync(path.join(dir, "target"), "pw\n");
    fs.symlinkSync(path.join(dir, "target"), link);
    for (const file of [path.join(dir, "absent"), dir])
      expect(() => etcdSecurityFromFlags({ etcdUser: "root", etcdPasswordFile: file }, https)).toThrow(
        /^--etcd-password-file: cannot read /,
      );
    expect(etcdSecurityFromFlags({ etcdUser: "root", etcdPasswordFile: link }, https).auth?.password).toBe("pw");
  });

  it.each([
    [{ etcdCacert: certs.caFile }, ["http://198.18.0.1:2379"], "--etcd: http://198.18.0.1:2379 is not https://"],
    [{}, ["https://198.18.0.1:2379", "http://198.18.0.2:2379"], "--etcd: mixes http:// and https://"],
    [{ etcdCert: certs.clients.agent?.certFile }, https, "--etcd-cert: needs --etcd-key too"],
    [{ etcdKey: certs.clients.agent?.keyFile }, https, "--etcd-key: needs --etcd-cert too"],
    [
      { etcdCert: certs.clients.agent?.certFile, etcdKey: certs.clients.other?.keyFile },
      https,
      "is not the key of the certificate",
    ],
    [{ etcdCacert: certs.clients.agent?.keyFile }, https, "--etcd-cacert: "],
    [{ etcdCacert: path.join(dir, "absent") }, https, "ENOENT"],
    [{ etcdPassword: "pw" }, https, "--etcd-password: needs --etcd-user too"],
    [{ etcdPasswordFile: "/nonexistent" }, https, "--etcd-password-file: needs --etcd-user too"],
    [{ etcdUser: "root" }, https, "--etcd-user: needs --etcd-password or --etcd-password-file too"],
    [
      { etcdUser: "root", etcdPassword: "pw", etcdPasswordFile: "/x" },
      https,
      "--etcd-password-file: give the password once",
    ],
  ])("refuses %j for %j naming the flag", (flags, endpoints, message) => {
    expect(() => etcdSecurityFromFlags(flags, endpoints)).toThrow(message);
  });
});
