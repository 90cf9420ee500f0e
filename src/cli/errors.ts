// How a subcommand fails: one line on stderr and an exit status, never a stack trace.
import { CniError } from "../cni/errors";

/** A failure the user can act on; `exitCode` is what the process exits with. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** The one line printed for `err`: a CNI error shows its code, anything else its message. */
export function describeFailure(err: unknown): string {
  if (err instanceof CniError) {
    const details = err.details ? ` (${err.details})` : "";
    return `CNI error ${err.code}: ${err.message}${details}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Prints the failure line and sets the exit status; the process then ends on its own. */
export function reportFailure(err: unknown): void {
  const line = describeFailure(err).replace(/\s*\n\s*/g, " ");
  process.stderr.write(`cnikit: ${line}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
}
