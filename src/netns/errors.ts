// A namespace path that cannot be used, with the reason as a stable code.

export type NetnsErrorCode =
  /** Nothing at that path: DEL treats this as "container already gone". */
  | "ENOENT"
  /** Something is there but it is not a namespace file (regular file, directory, other fs). */
  | "ENOTNETNS"
  /** Anything else (permission, a namespace of another kind). */
  | "EFAILED";

export class NetnsError extends Error {
  readonly code: NetnsErrorCode;
  readonly path: string;

  constructor(init: { code: NetnsErrorCode; path: string; message: string }, options?: { cause?: unknown }) {
    super(init.message, options);
    this.name = "NetnsError";
    this.code = init.code;
    this.path = init.path;
  }
}

export function isNetnsMissing(err: unknown): err is NetnsError {
  return err instanceof NetnsError && err.code === "ENOENT";
}
