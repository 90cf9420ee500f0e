// Every action goes through here: a failure becomes one line on stderr and a non-zero status.
import { reportFailure } from "../errors";

type Action = (...args: never[]) => void | Promise<void>;

/** Wraps an action so any failure becomes one line on stderr and a non-zero status. */
export function guarded<A extends Action>(action: A): (...args: Parameters<A>) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      reportFailure(err);
    }
  };
}
