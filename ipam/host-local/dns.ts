// resolvConf: a resolv.conf-format file turned into the result's `dns`, as the reference does.
import { CniError, ErrorCode } from "../../src/cni/errors";
import { FileRefusedError, readRegularFile } from "../../src/cni/safe-file";
import type { DNS } from "../../src/cni/types";

export function parseResolvConf(text: string): DNS {
  const dns: DNS = {};
  for (const line of text.split("\n")) {
    const [keyword, ...values] = line.trim().split(/\s+/);
    if (!keyword || keyword.startsWith("#") || keyword.startsWith(";")) continue;
    switch (keyword) {
      case "nameserver":
        if (values[0]) dns.nameservers = [...(dns.nameservers ?? []), values[0]];
        break;
      case "domain":
        if (values[0]) dns.domain = values[0];
        break;
      case "search":
        dns.search = [...(dns.search ?? []), ...values];
        break;
      case "options":
        dns.options = [...(dns.options ?? []), ...values];
        break;
    }
  }
  return dns;
}

/** Far more than any resolv.conf (glibc reads at most a few KB of it). */
export const RESOLV_CONF_MAX_BYTES = 64 << 10;

/** Symlinks are followed (/etc/resolv.conf often is one); a FIFO, a device or an oversize file is refused. */
export function readResolvConf(file: string): DNS {
  let text: string;
  try {
    text = readRegularFile(file, RESOLV_CONF_MAX_BYTES).toString("utf8");
  } catch (err) {
    const what = err instanceof FileRefusedError ? err.what : (err as Error).message;
    throw new CniError(ErrorCode.IoFailure, `ipam.resolvConf: ${file} ${what}`, "", { cause: err });
  }
  return parseResolvConf(text);
}
