// A failed ADD must leave nothing behind. Each step that changes the kernel or a store
// pushes its undo here; on failure the undos run in reverse order. An undo that fails
// is reported on stderr and does not stop the others: the original error is what the
// runtime needs to see.

export class Rollback {
  private readonly undos: Array<{ what: string; undo: () => void | Promise<void> }> = [];

  push(what: string, undo: () => void | Promise<void>): void {
    this.undos.push({ what, undo });
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
        process.stderr.write(`cnikit: rollback of ${step.what} failed: ${(err as Error).message}\n`);
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
