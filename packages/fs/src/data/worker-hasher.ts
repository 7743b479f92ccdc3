// A ChunkHasher on a node:worker_threads worker: it hashes each chunk of a slab with
// node:crypto and answers with the digests. One worker per process, started on the first large
// write. It holds the process open only while it has work: idle, it is unref'd, so a program
// that is done exits without closing anything.
//
// Slabs are SharedArrayBuffers, shared with the worker rather than moved to it and back: V8
// counts every ArrayBuffer that crosses threads as new external memory (twice per slab, there
// and back), and that count is what starts full garbage collections: a 1 GiB write ran some
// fifty of them. A SharedArrayBuffer is not counted; a slab is never written once handed over,
// so sharing it is safe. (Plain ArrayBuffers, from another allocator, are still transferred.)
//
// The worker also allocates the slabs: the first write to fresh memory costs a page fault per
// 4 KiB (with the kernel zeroing the page), as much as the copy into it, so the worker touches
// every page of a new slab and passes it over a second channel; the writing thread takes one
// without waiting (receiveMessageOnPort) or, if none is ready, allocates its own.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { sha256 } from '@cafs/kv';
import { isShared } from './shared-memory.js';
import { getChunkHasher, setChunkHasher, type ChunkHasher, type SlabDigests, type SlabJob } from './chunk-hasher.js';

// The worker's whole program (CommonJS, run with eval: no file to find next to a bundle).
const WORKER_SOURCE = `
// Dynamic imports: the worker runs as CommonJS or as ESM (--input-type=module is inherited).
Promise.all([import('node:worker_threads'), import('node:crypto')]).then(([{ parentPort, workerData }, crypto]) => {
  const stock = workerData.stock;
  const digest = typeof crypto.hash === 'function'
    ? (view) => crypto.hash('sha256', view, 'buffer')
    : (view) => crypto.createHash('sha256').update(view).digest();
  parentPort.on('message', (m) => {
    const spans = m.spans;
    const n = spans.length >> 1;
    const digests = new Uint8Array(32 * n);
    // A shared slab stays where it is; a plain one goes back with the answer.
    const back = m.shared ? [] : [m.buffer];
    const buffer = m.shared ? undefined : m.buffer;
    try {
      for (let i = 0; i < n; i++) digests.set(digest(new Uint8Array(m.buffer, spans[2 * i], spans[2 * i + 1])), 32 * i);
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: String((err && err.stack) || err), buffer }, back);
      return;
    }
    parentPort.postMessage({ id: m.id, buffer, digests }, [...back, digests.buffer]);
    for (let k = 0; k < m.restock; k++) {
      const slab = new SharedArrayBuffer(m.slabSize);
      const bytes = new Uint8Array(slab);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 0;
      stock.postMessage(slab);
    }
  });
  parentPort.postMessage({ ready: true });
});
`;

/** Pre-touched slabs the worker keeps ready at most; they are dropped after IDLE_DROP_MS idle. */
const STOCK_MAX = 2;
const IDLE_DROP_MS = 1000;

interface Reply {
  ready?: true;
  id: number;
  /** A plain slab, moved back (a shared one never left). */
  buffer?: ArrayBuffer;
  digests?: Uint8Array;
  error?: string;
}

interface Waiting {
  resolve: (d: SlabDigests) => void;
  reject: (err: Error) => void;
  /** Until the worker is up, the job stays here (not yet transferred), with the slabs to restock. */
  job: (SlabJob & { restock: number }) | undefined;
  /** A shared slab handed over: its bytes are still readable here (for the answer, or to hash here). */
  shared: SlabJob | undefined;
}

/** Hashes a slab on this thread: for jobs still here when the worker cannot start. */
function hashHere(job: SlabJob): SlabDigests {
  const n = job.spans.length >> 1;
  const digests = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) digests.set(sha256(new Uint8Array(job.buffer, job.spans[2 * i]!, job.spans[2 * i + 1]!)), 32 * i);
  return { buffer: job.buffer, digests };
}

export class WorkerHashError extends Error {
  readonly code = 'ERR_CAFS_HASH_WORKER';
}

/** Hashes slabs on one worker thread. */
export class WorkerChunkHasher implements ChunkHasher {
  private worker: Worker | undefined;
  /** Whether the worker has said it is listening (jobs wait here until then). */
  private ready = false;
  private broken: Error | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Where the worker's pre-touched slabs arrive. */
  private stock: MessagePort | undefined;
  /** Slabs asked of the worker and not yet taken. */
  private stocked = 0;
  private slabSize = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** Slabs handed over and not yet answered. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Whether the worker thread is running (it starts on the first slab). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  allocateSlab(size: number): ArrayBufferLike {
    if (this.stock !== undefined && size === this.slabSize) {
      const got = receiveMessageOnPort(this.stock);
      if (got !== undefined) {
        this.stocked--;
        return got.message as SharedArrayBuffer;
      }
    }
    this.slabSize = size;
    // Zeroed (see ChunkHasher.allocateSlab). For a slab this large the zeros are the kernel's
    // fresh pages: nothing is written until used.
    return new SharedArrayBuffer(size);
  }

  hashSlab(job: SlabJob): Promise<SlabDigests> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    let worker: Worker;
    try {
      worker = this.start();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new WorkerHashError(String(err)));
    }
    const id = this.nextId++;
    const slabSize = job.buffer.byteLength;
    if (slabSize !== this.slabSize) this.dropStock();
    this.slabSize = slabSize;
    const restock = STOCK_MAX - this.stocked;
    this.stocked += restock;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return new Promise<SlabDigests>((resolve, reject) => {
      const waiting: Waiting = { resolve, reject, job: { buffer: job.buffer, spans: job.spans, restock }, shared: undefined };
      this.waiting.set(id, waiting);
      if (this.waiting.size === 1) worker.ref();
      if (this.ready) this.send(id, waiting);
    });
  }

  private send(id: number, waiting: Waiting): void {
    const job = waiting.job;
    if (job === undefined || this.worker === undefined) return;
    waiting.job = undefined;
    const shared = isShared(job.buffer);
    if (shared) waiting.shared = job;
    try {
      const message = { id, buffer: job.buffer, spans: job.spans, restock: job.restock, slabSize: job.buffer.byteLength, shared };
      this.worker.postMessage(message, shared ? [] : [job.buffer as ArrayBuffer]);
    } catch (err) {
      this.settled(id);
      waiting.reject(err instanceof Error ? err : new WorkerHashError(String(err)));
    }
  }

  /** Stops the worker; plain slabs still out fail (shared ones are hashed here). A later slab starts a new worker. */
  async close(): Promise<void> {
    const w = this.worker;
    if (w === undefined) return;
    this.worker = undefined;
    this.hashHeld();
    this.failAll(new WorkerHashError('the hash worker was closed'));
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.stock?.close();
    this.stock = undefined;
    await w.terminate();
  }

  /** Drops the ready slabs (they arrive after the answers, so some may come later still). */
  private dropStock(): void {
    if (this.stock === undefined) return;
    while (receiveMessageOnPort(this.stock) !== undefined) this.stocked--;
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(WORKER_SOURCE, { eval: true, name: 'cafs-hash', workerData: { stock: port2 }, transferList: [port2] });
    w.unref();
    port1.unref();
    this.stock = port1;
    this.stocked = 0;
    this.ready = false;
    w.on('message', (m: Reply) => {
      if (m.ready === true) {
        if (this.worker !== w) return;
        this.ready = true;
        for (const [id, waiting] of [...this.waiting]) this.send(id, waiting);
        return;
      }
      const waiting = this.settled(m.id);
      if (waiting === undefined) return;
      const buffer = m.buffer ?? waiting.shared?.buffer;
      if (m.error !== undefined || m.digests === undefined || buffer === undefined) waiting.reject(new WorkerHashError(`hash worker: ${m.error ?? 'no digests'}`));
      else waiting.resolve({ buffer, digests: m.digests });
    });
    const fail = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.hashHeld();
      this.broken = new WorkerHashError(`the hash worker stopped: ${err.message}`, { cause: err });
      this.failAll(this.broken);
      // Writes whose plain slabs went with the worker fail; later ones hash on this thread.
      if (getChunkHasher() === this) setChunkHasher(undefined);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }

  /** Jobs not handed over yet, and shared slabs, still have their bytes here: they are hashed here. */
  private hashHeld(): void {
    for (const [id, waiting] of [...this.waiting]) {
      const job = waiting.job ?? waiting.shared;
      if (job === undefined) continue;
      this.settled(id);
      waiting.resolve(hashHere(job));
    }
  }

  private settled(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return undefined;
    this.waiting.delete(id);
    if (this.waiting.size === 0) {
      this.worker?.unref();
      // Idle: the ready slabs go after a while, so an idle process does not hold them.
      this.idleTimer ??= setTimeout(() => {
        this.idleTimer = undefined;
        if (this.waiting.size === 0) this.dropStock();
      }, IDLE_DROP_MS).unref();
    }
    return waiting;
  }

  private failAll(err: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    this.worker?.unref();
    for (const w of all) w.reject(err);
  }
}
