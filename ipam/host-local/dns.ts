// resolvConf: a resolv.conf-format file turned into the result's `dns`, as the reference does.
import * as fs from "node:fs";
import { CniError, ErrorCode } from "../../src/cni/errors";
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

export function readResolvConf(file: string): DNS {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `ipam.resolvConf: cannot read ${file}: ${(err as Error).message}`, "", {
      cause: err,
    });
  }
  return parseResolvConf(text);
}
