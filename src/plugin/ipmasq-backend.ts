// `ipMasqBackend` as the reference plugins name it: "nftables" or "iptables". Masquerade
// here is nftables only (src/plugin/ipmasq.ts), so "nftables" is what every config gets
// and "iptables" is refused rather than silently ignored.
import { CniError, ErrorCode } from "../cni/errors";

export function requireMasqBackend(backend: unknown): void {
  if (backend === undefined || backend === "nftables") return;
  throw new CniError(
    ErrorCode.UnsupportedField,
    `ipMasqBackend: ${JSON.stringify(backend)} is not supported: cnikit masquerades with nftables only (use "nftables" or leave it unset)`,
  );
}
