// The one error type that crosses the CNI boundary. Codes 1-7, 11, 50 and 51 are the
// spec's; 100 and up are ours (documented in the README); 999 is "unexpected".
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  // ours
  AddressExhausted: 100,
  AddressUnavailable: 101,
  NetlinkFailure: 102,
  NetnsFailure: 103,
  KernelStateMismatch: 104,
  NftablesFailure: 105,
  Internal: 999,
} as const;

export class CniError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, msg: string, details = "", options?: { cause?: unknown }) {
    super(msg, options);
    this.name = "CniError";
    this.code = code;
    this.details = details;
  }

  /** The spec's error object for stdout. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    const body: { cniVersion: string; code: number; msg: string; details?: string } = {
      cniVersion,
      code: this.code,
      msg: this.message,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/**
 * Errors of lower layers that know their CNI code say so with a numeric `cniCode`
 * (NetlinkError: 102), so that src/cni needs no import of them and a kernel refusal
 * that reaches the top unwrapped (a race lost to ENODEV) is never a 999.
 */
function cniCodeOf(err: Error): number | undefined {
  const code = (err as { cniCode?: unknown }).cniCode;
  return typeof code === "number" ? code : undefined;
}

/** Wraps anything thrown into a CniError: CniErrors pass through, the rest become 999 (or their cniCode) with their message. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const code = err instanceof Error ? cniCodeOf(err) : undefined;
  if (code !== undefined) return new CniError(code, (err as Error).message, "", { cause: err });
  if (err instanceof Error) return new CniError(ErrorCode.Internal, err.message, "", { cause: err });
  return new CniError(ErrorCode.Internal, String(err));
}
