// The main-thread side of the kv suite's memory-level peer (see kv-level-worker.ts).
import { Worker } from 'node:worker_threads';
import { LevelHost } from './kv-level-host.js';

/** Timed commands: each runs after a full GC in the worker, which reports its own time. */
export type LevelCommand =
  | { kind: 'load' }
  | { kind: 'get'; keys: Uint8Array; keyBytes: number }
  | { kind: 'iterate' }
  | { kind: 'put'; keys: Uint8Array; keyBytes: number; value: Uint8Array }
  | { kind: 'batch'; types: Uint8Array; keys: Uint8Array; keyBytes: number; values: Uint8Array; valueBytes: number };

/** Untimed commands: the data set, a read to check, closing. */
export type LevelControl =
  | { kind: 'data'; keys: Uint8Array; values: Uint8Array; keyBytes: number; valueBytes: number }
  | { kind: 'probe'; key: Uint8Array }
  | { kind: 'close' };

export interface LevelReply {
  ms: number;
  /** Entries the command loaded, found, iterated, put or applied. */
  count?: number;
  value?: Uint8Array | undefined;
  error?: string;
}

/**
 * A memory-level database driven one command at a time: in a worker thread (the default), or in
 * this thread (`inline`, sharing the heap with cafs as an app would).
 */
export class LevelPeer {
  private readonly worker: Worker | undefined;
  private readonly host: LevelHost | undefined;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: LevelReply) => void; reject: (e: unknown) => void }>();

  constructor(inline = false) {
    if (inline) {
      this.host = new LevelHost();
      return;
    }
    this.worker = new Worker(new URL('./kv-level-worker.js', import.meta.url));
    this.worker.on('message', (m: LevelReply & { id: number }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.resolve(m);
    });
    this.worker.on('error', (err: unknown) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
  }

  get inline(): boolean {
    return this.host !== undefined;
  }

  async send(cmd: LevelCommand | LevelControl): Promise<LevelReply> {
    const id = this.next++;
    const worker = this.worker;
    const reply =
      worker === undefined
        ? await this.host!.handle(cmd)
        : await new Promise<LevelReply>((resolve, reject) => {
            this.waiting.set(id, { resolve, reject });
            worker.postMessage({ id, cmd });
          });
    if (reply.error !== undefined) throw new Error(`memory-level peer: ${reply.error}`);
    return reply;
  }

  async close(): Promise<void> {
    await this.send({ kind: 'close' });
    await this.worker?.terminate();
  }
}

/** Records of `width` bytes packed into one buffer (what crosses to the worker). */
export function pack(records: readonly Uint8Array[], width: number): Uint8Array {
  const out = new Uint8Array(records.length * width);
  records.forEach((r, i) => out.set(r, i * width));
  return out;
}
