// The client side of the sync protocol over HTTP (a `cafs serve`): refs, plans, blob batches,
// and pushes (blobs, then a compare-and-swap of a branch). Uses the global fetch.
import { bytesToHex, parseHash, type Hash } from '@cafs/kv';
import { SyncError } from './errors.js';
import type { PlanItem, SyncRequest } from './plan.js';
import type { SyncSource, SyncTarget } from './sync.js';
import { decodeFrames, decodePlan, encodeFrames, encodeHashes } from './wire.js';

export interface RemoteRefs {
  branches: Map<string, Hash>;
  tags: Map<string, Hash>;
}

export interface HttpRemoteOptions {
  /** The bearer token pushes need. */
  token?: string | undefined;
  /** Per request (default 60 s). */
  timeoutMs?: number | undefined;
  /** Largest blob accepted from the server (default 16 MiB). */
  maxBlobBytes?: number | undefined;
}

type Opts = { signal?: AbortSignal | undefined };

export class HttpRemote implements SyncSource, SyncTarget {
  readonly url: string;
  /** Round trips made so far (for reports and benchmarks). */
  requests = 0;
  /** Body bytes received and sent so far. */
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    url: string,
    private readonly options: HttpRemoteOptions = {},
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  private async call(method: 'GET' | 'POST', path: string, body: Uint8Array | string | undefined, o: Opts, type = 'application/octet-stream'): Promise<Uint8Array> {
    const signals = [AbortSignal.timeout(this.options.timeoutMs ?? 60_000)];
    if (o.signal !== undefined) signals.push(o.signal);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = type;
    if (this.options.token !== undefined) headers['Authorization'] = `Bearer ${this.options.token}`;
    let res: Response;
    this.requests++;
    try {
      res = await fetch(this.url + path, { method, headers, body: body as RequestInit['body'], signal: AbortSignal.any(signals) });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      const why = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SyncError('ERR_REMOTE', `cannot reach ${this.url}: ${why?.code ?? why?.message ?? (err as Error).message}`);
    }
    if (body !== undefined) this.bytesOut += typeof body === 'string' ? body.length : body.length;
    const bytes = new Uint8Array(await res.arrayBuffer());
    this.bytesIn += bytes.length;
    if (!res.ok) {
      const text = new TextDecoder().decode(bytes.subarray(0, 500)).trim();
      const code = res.status === 401 ? 'ERR_UNAUTHORIZED' : res.status === 403 ? 'ERR_FORBIDDEN' : res.status === 409 ? (/fast-forward/.test(text) ? 'ERR_NON_FAST_FORWARD' : 'ERR_CONFLICT') : res.status === 404 ? 'ERR_UNKNOWN_REF' : 'ERR_REMOTE';
      throw new SyncError(code, `${this.url}: ${res.status} ${text || res.statusText}`, res.status);
    }
    return bytes;
  }

  async refs(o: Opts = {}): Promise<RemoteRefs> {
    const body = JSON.parse(new TextDecoder().decode(await this.call('GET', '/refs', undefined, o))) as { branches: Record<string, string>; tags: Record<string, string> };
    const map = (x: Record<string, string>): Map<string, Hash> => new Map(Object.entries(x ?? {}).map(([k, v]) => [k, parseHash(v)]));
    return { branches: map(body.branches), tags: map(body.tags) };
  }

  async plan(request: SyncRequest, o: Opts): Promise<PlanItem[]> {
    const body = JSON.stringify({ want: request.want.map((h) => bytesToHex(h)), have: (request.have ?? []).map((h) => bytesToHex(h)) });
    return decodePlan(await this.call('POST', '/sync/plan', body, o, 'application/json'));
  }

  async getMany(hashes: readonly Hash[], o: Opts): Promise<Uint8Array[]> {
    const frames = decodeFrames(await this.call('POST', '/sync/blobs', encodeHashes(hashes), o), this.options.maxBlobBytes ?? 16 * 1024 * 1024);
    if (frames.length !== hashes.length) throw new SyncError('ERR_PROTOCOL', `asked for ${hashes.length} blobs, got ${frames.length}`);
    return frames.map((f, i) => {
      if (bytesToHex(f.hash) !== bytesToHex(hashes[i]!)) throw new SyncError('ERR_PROTOCOL', 'blobs came back out of order');
      if (f.bytes === undefined) throw new SyncError('ERR_INCOMPLETE', `${this.url} lacks blob ${bytesToHex(f.hash)}`);
      return f.bytes;
    });
  }

  async has(hashes: readonly Hash[], o: Opts): Promise<boolean[]> {
    const bits = await this.call('POST', '/sync/has', encodeHashes(hashes), o);
    if (bits.length !== hashes.length) throw new SyncError('ERR_PROTOCOL', `asked about ${hashes.length} blobs, got ${bits.length} answers`);
    return [...bits].map((b) => b === 1);
  }

  async putMany(blobs: readonly { hash: Hash; bytes: Uint8Array }[], o: Opts): Promise<void> {
    await this.call('POST', '/sync/put', encodeFrames(blobs), o);
  }

  /** Moves the server's branch from `old` to `next` (compare-and-swap; fast-forward unless `force`). */
  async updateBranch(branch: string, old: Hash | undefined, next: Hash, force: boolean, o: Opts = {}): Promise<void> {
    const body = JSON.stringify({ branch, old: old === undefined ? null : bytesToHex(old), new: bytesToHex(next), force });
    await this.call('POST', '/sync/ref', body, o, 'application/json');
  }

  /** One blob by hash (GET /blob/<hash>), verified by the caller. */
  async blob(hash: Hash, o: Opts = {}): Promise<Uint8Array> {
    return this.call('GET', `/blob/${bytesToHex(hash)}`, undefined, o);
  }
}
