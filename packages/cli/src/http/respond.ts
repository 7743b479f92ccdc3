// Writing responses: small bodies at once, large ones piece by piece with backpressure, so
// memory per response stays bounded whatever its size and however slowly the client reads.
import type { ServerResponse } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

const encoder = new TextEncoder();

export function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, head: boolean, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(bytes.length), ...headers });
  res.end(head ? undefined : bytes);
}

export function notModified(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(304, headers);
  res.end();
}

/** Resolves true once `res` can take more, false if it closed first (the client left). */
export function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/**
 * Young-generation collections forced every so many bytes of data sent (see collectEvery).
 *
 * Every piece a response sends is a view of a Buffer the store allocated outside V8's heap (a
 * LevelDB read copies each ~76 KiB chunk into a fresh one). Those Buffers are garbage as soon as
 * the socket has taken them, but their wrappers are tiny, so the young generation fills, and a
 * scavenge frees them, only after hundreds of MB; until then V8 waits for the external bytes to
 * reach its own limit (64 MB past the last full collection). Under load that kept ~40 MB of dead
 * chunk copies resident in `cafs serve`. A scavenge of the server's young generation takes
 * ~0.3-1 ms: at 8 MiB, about 120 of them per GB sent. They free the copies young and spare the
 * full collections V8 would do for them: streaming 9.6 GB, GC took 2.2-3.5 s in all (1.3k
 * collections) against 2.6-4.8 s (620) without, and peak private memory was ~25 MB lower.
 */
let collector: { every: number; scavenge: () => void } | undefined;
let sinceCollect = 0;

/**
 * Forces a young-generation collection after every `bytes` of data sent (0: never, V8 decides).
 * For a process that serves, such as `cafs serve`: it exposes V8's gc() to this module when the
 * process was not started with --expose-gc.
 */
export function collectEvery(bytes: number): void {
  if (!(bytes > 0)) {
    collector = undefined;
    return;
  }
  let gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc');
    } catch {
      return;
    }
    if (typeof gc !== 'function') return;
  }
  const f = gc as (options?: { type: 'minor' | 'major' }) => void;
  collector = { every: bytes, scavenge: () => f({ type: 'minor' }) };
}

/** Counts bytes of data handed to sockets, collecting when collectEvery's budget is spent. */
export function sent(bytes: number): void {
  if (collector === undefined) return;
  sinceCollect += bytes;
  if (sinceCollect >= collector.every) {
    sinceCollect = 0;
    collector.scavenge();
  }
}

/** Writes one piece; waits while the socket's buffer is full. False: the client is gone. */
export async function write(res: ServerResponse, piece: Uint8Array | string): Promise<boolean> {
  if (res.destroyed) return false;
  if (typeof piece !== 'string') sent(piece.length);
  if (res.write(piece)) return true;
  return drained(res);
}

/** Writes every piece of `source` with backpressure; false if the client left first. */
export async function pipe(res: ServerResponse, source: AsyncIterable<Uint8Array>): Promise<boolean> {
  for await (const piece of source) {
    if (!(await write(res, piece))) return false;
  }
  return true;
}

/**
 * Text produced a little at a time (listing rows, JSON records) written in ~64 KiB pieces.
 */
export class TextSink {
  #buffered: string[] = [];
  #length = 0;
  constructor(private readonly res: ServerResponse) {}

  async push(text: string): Promise<boolean> {
    this.#buffered.push(text);
    this.#length += text.length;
    return this.#length >= 65536 ? this.flush() : !this.res.destroyed;
  }

  async flush(): Promise<boolean> {
    if (this.#buffered.length === 0) return !this.res.destroyed;
    const text = this.#buffered.join('');
    this.#buffered = [];
    this.#length = 0;
    return write(this.res, text);
  }
}

/** Per outer signal (the server's shutdown), the requests it must abort: one listener for all. */
const liveRequests = new WeakMap<AbortSignal, Set<AbortController>>();

/**
 * A signal that aborts when the response closes early or `outer` aborts (server shutdown).
 * Cheap per request: no AbortSignal.any, and a response that finished normally aborts nothing
 * (an abort makes a DOMException and dispatches events, a measurable part of a small GET).
 */
export function requestSignal(res: ServerResponse, outer: AbortSignal | undefined): AbortSignal {
  const ctl = new AbortController();
  if (outer?.aborted) {
    ctl.abort();
    return ctl.signal;
  }
  let live: Set<AbortController> | undefined;
  if (outer !== undefined) {
    live = liveRequests.get(outer);
    if (live === undefined) {
      const set = new Set<AbortController>();
      liveRequests.set(outer, (live = set));
      outer.addEventListener('abort', () => {
        for (const c of set) c.abort();
        set.clear();
      }, { once: true });
    }
    live.add(ctl);
  }
  res.once('close', () => {
    live?.delete(ctl);
    if (!res.writableFinished) ctl.abort();
  });
  return ctl.signal;
}
