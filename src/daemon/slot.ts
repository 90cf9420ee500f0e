// A worker's request slot, shared with the main thread (src/daemon/pool.ts). Its first
// word says who answers; the rest is what the main thread needs to answer in the
// worker's place and to clean up after it: the connection, the answer's CNI version,
// when the request began and the lock fds it holds. Kept in shared memory so that a
// request costs the main thread no message until its end: the begin and lock-fd
// messages it replaces woke the main thread five times per bridge ADD.
import { CURRENT_VERSION, SUPPORTED_VERSIONS } from "../cni/versions";

export const Slot = {
  Idle: 0,
  Busy: 1,
  /** The worker won: it writes the answer. */
  Answering: 2,
  /** The main thread won (time limit, crash): it has answered, the worker must not. */
  TakenOver: 3,
} as const;

const STATE = 0;
const FD = 1;
const VERSION = 2;
const FD_COUNT = 3;
/** Float64 index of the start time (bytes 16-23). */
const STARTED_AT = 2;
const FDS = 6;
/** Lock fds a request holds at once: the attachment's, the bridge's, a few more for overlays. */
const MAX_FDS = 26;

export const SLOT_BYTES = 4 * (FDS + MAX_FDS);

export class RequestSlot {
  readonly words: Int32Array;
  private readonly times: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.times = new Float64Array(buffer, 0, 3);
  }

  static create(): RequestSlot {
    return new RequestSlot(new SharedArrayBuffer(SLOT_BYTES));
  }

  /** Worker: the request on `fd` begins; the main thread may answer it from now on. */
  begin(fd: number, errorVersion: string): void {
    Atomics.store(this.words, FD, fd);
    Atomics.store(this.words, VERSION, SUPPORTED_VERSIONS.indexOf(errorVersion as never));
    this.times[STARTED_AT] = Date.now();
    Atomics.store(this.words, STATE, Slot.Busy);
  }

  get state(): number {
    return Atomics.load(this.words, STATE);
  }

  /** Exactly one side moves a busy slot on: true for the side that did. */
  claim(to: typeof Slot.Answering | typeof Slot.TakenOver): boolean {
    return Atomics.compareExchange(this.words, STATE, Slot.Busy, to) === Slot.Busy;
  }

  idle(): void {
    Atomics.store(this.words, STATE, Slot.Idle);
  }

  /**
   * Worker: a lock fd opened or closed (the table outlives a request, as the fds would);
   * false when the table is full or the fd is not in it (the caller reports it another way).
   */
  track(fd: number, open: boolean): boolean {
    const count = Atomics.load(this.words, FD_COUNT);
    if (open) {
      if (count >= MAX_FDS) return false;
      Atomics.store(this.words, FDS + count, fd);
      Atomics.store(this.words, FD_COUNT, count + 1);
      return true;
    }
    for (let index = 0; index < count; index++) {
      if (Atomics.load(this.words, FDS + index) !== fd) continue;
      // Keep the table dense: the last entry moves into the freed place.
      Atomics.store(this.words, FDS + index, Atomics.load(this.words, FDS + count - 1));
      Atomics.store(this.words, FD_COUNT, count - 1);
      return true;
    }
    return false;
  }

  /** Main thread: the request in progress, if the slot is busy. */
  request(): { fd: number; errorVersion: string; startedAt: number } | undefined {
    if (this.state !== Slot.Busy) return undefined;
    const version = SUPPORTED_VERSIONS[Atomics.load(this.words, VERSION)] ?? CURRENT_VERSION;
    return { fd: Atomics.load(this.words, FD), errorVersion: version, startedAt: this.times[STARTED_AT] ?? 0 };
  }

  /** Main thread: the lock fds the worker holds (to close once it has exited). */
  heldFds(): number[] {
    const count = Atomics.load(this.words, FD_COUNT);
    return Array.from({ length: count }, (_, index) => Atomics.load(this.words, FDS + index));
  }
}
