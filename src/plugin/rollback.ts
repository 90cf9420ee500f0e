// A failed ADD must leave nothing behind. Each step that changes the kernel or a store
// pushes its undo here; on failure the undos run in reverse order. An undo that fails
// is reported on stderr and does not stop the others: the original error is what the
// runtime needs to see.

// Crash testing (test build only, src/cni/test-hooks.ts): the process can kill itself
// right after the Nth step of an ADD, as a runtime's timeout would, and name each step.
import { requestContext } from "../cni/request-context";
import { crashAfterStepHook, traceStepsHook } from "../cni/test-hooks";

export class Rollback {
  private readonly undos: Array<{ what: string; undo: () => void | Promise<void> }> = [];
  private steps = 0;
  private readonly crashAfterStep = crashAfterStepHook();
  private readonly traceSteps = traceStepsHook();

  push(what: string, undo: () => void | Promise<void>): void {
    this.undos.push({ what, undo });
    this.stepDone(what);
  }

  /** Marks a step that needs no undo of its own (e.g. addresses that go with their link). */
  stepDone(what: string): void {
    this.steps += 1;
    if (this.traceSteps) requestContext().writeStderr(`cnikit: step ${this.steps}: ${what}\n`);
    if (this.steps === this.crashAfterStep) process.kill(process.pid, "SIGKILL");
  }

  /** Forget the undos once the ADD has succeeded. */
  commit(): void {
    this.undos.length = 0;
  }

  async unwind(): Promise<void> {
    while (this.undos.length > 0) {
      const step = this.undos.pop();
      if (!step) break;
      try {
        await step.undo();
      } catch (err) {
        requestContext().writeStderr(`cnikit: rollback of ${step.what} failed: ${(err as Error).message}\n`);
      }
    }
  }

  /** Runs `body`; if it throws, unwinds and rethrows. */
  async run<T>(body: (rollback: Rollback) => Promise<T>): Promise<T> {
    try {
      const value = await body(this);
      this.commit();
      return value;
    } catch (err) {
      await this.unwind();
      throw err;
    }
  }
}
