// Writing responses: small bodies at once, large ones piece by piece with backpressure, so
// memory per response stays bounded whatever its size and however slowly the client reads.
import type { ServerResponse } from 'node:http';

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

/** Writes one piece; waits while the socket's buffer is full. False: the client is gone. */
export async function write(res: ServerResponse, piece: Uint8Array | string): Promise<boolean> {
  if (res.destroyed) return false;
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
