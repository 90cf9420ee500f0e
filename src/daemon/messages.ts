// What a worker thread tells the main thread (src/daemon/pool.ts), and back.

export interface RequestSummary {
  plugin: string;
  command: string;
  containerId: string;
  ifName: string;
  netns: string;
}

/** host-local's network, for the addresses-used/free metrics (read at scrape time). */
export interface IpamUse {
  network: string;
  dataDir: string;
  ranges: Array<Array<{ subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }>>;
}

export type WorkerMessage =
  /** Plugins loaded and, for the first workers, warmed up (warm-up.ts). */
  | { kind: "ready"; warmUp?: { calls: number; durationMs: number; failed?: string } }
  | ({ kind: "end"; durationMs: number; exitStatus: number; code: number; ipam?: IpamUse } & RequestSummary)
  /** A lock fd the slot's table had no room for (src/daemon/slot.ts). */
  | { kind: "fd"; fd: number; open: boolean }
  | { kind: "refused"; uid: number; pid: number; reason: string }
  | { kind: "dropped"; pid: number; reason: string }
  | { kind: "status"; fd: number };

/** serve: the daemon listens now, start accepting (sent once, to the first generation). */
export type MainMessage = { kind: "stop" } | { kind: "serve" };

/** WorkerData.acceptOrder's Int32 words for a pool of `size`: [unused, accepting(0..size-1), turn(0..size-1)]. */
export const acceptOrderLayout = {
  words: (size: number): number => 1 + 2 * size,
  /** 1 while that worker takes connections. */
  accepting: (index: number): number => 1 + index,
  /** Bumped (and notified) when the worker below it takes a call, or the daemon stops. */
  turn: (size: number, index: number): number => 1 + size + index,
};

export interface WorkerData {
  /** This worker's place in the accept order (0 first). */
  index: number;
  /** Int32 words shared by all workers (acceptOrderLayout). */
  acceptOrder: SharedArrayBuffer;
  listenFd: number;
  /** Whether the socket listens already (a replacement); otherwise wait for "serve". */
  serving: boolean;
  /** ADD/DEL pairs to warm up with before "ready" (0: none). */
  warmUpPairs: number;
  /** Every worker's wake fd (native wakeFdCreate), by index: how a worker recalls its stand-ins. */
  wakeFds: number[];
  /** This worker's RequestSlot (src/daemon/slot.ts). */
  slot: SharedArrayBuffer;
  /** One Int32 shared by all workers: requests answered, counted before the answer is sent,
   * so a status asked for after an answer always includes it. */
  served: SharedArrayBuffer;
  buildId: string;
  limitMs: number;
  /** How long a caller may take to send its hello and body ("a request that never ends"). */
  bodyTimeoutMs: number;
  /** uids served besides 0 (the daemon's own). */
  allowedUid: number;
}
