// BlobStore on a Redis Cluster (or one standalone Redis): one string key per blob.
import { Cluster, type ChainableCommander } from 'ioredis';
import {
  BlobNotFoundError,
  DEFAULT_MAX_BLOB_SIZE,
  HASH_BYTES,
  IntegrityError,
  InvalidArgumentError,
  STORED_OVERHEAD,
  TooLargeError,
  bytesToHex,
  compareBytes,
  sha256,
  type BlobStore,
  type BlobStoreOperationOptions,
  type BlobStoreOptions,
  type Hash,
  type HashedBlob,
  type RawBlobStore,
  type RawEntry,
} from '@cafs/kv';
import { RedisConnection, withDeadline, type RedisConnectOptions } from './connection.js';
import { toStoreError } from './errors.js';
import { keySlot } from './slot.js';

/**
 * Redis's own limit on a string is 512 MB, but one huge value blocks a master's event loop and
 * its replication; 64 MiB is the most this store accepts. The default is kv's 4 MiB.
 */
export const REDIS_MAX_BLOB_SIZE = 64 * 1024 * 1024;

export interface RedisBlobStoreOptions extends BlobStoreOptions {
  /**
   * Prepended to every key so several repositories share one cluster (default "cafs:", or the
   * URL's ?prefix=). Blobs live under `<prefix>b:<hash in base64url, 43 characters>`. Must not
   * contain `{` or `}` (a hash tag would put every blob in one slot). Base64url, not the raw
   * bytes: raw bytes may hold `{`/`}`, where client libraries compute hash slots differently
   * from the server.
   */
  prefix?: string | undefined;
  /** Commands per pipeline round trip (default 512). */
  pipelineCommands?: number | undefined;
  /** Bytes of values per pipeline round trip (default 8 MiB). */
  pipelineBytes?: number | undefined;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new InvalidArgumentError(`key prefix ${JSON.stringify(prefix)} must be a string without { or }`);
  }
  return prefix;
}

type Reply = [Error | null, unknown];

/** Characters of a hash in base64url without padding. */
const KEY_HASH_CHARS = 43;

/**
 * Blobs on Redis: `put` is SET NX (storing the same blob twice is a no-op on the server), batches
 * are pipelined, one pipeline per master holding the keys' slots, all masters in parallel.
 * `get` verifies the bytes against the hash; `hashes()` scans every master and sorts.
 * Any failure of the cluster is a StoreUnavailableError (code ERR_STORE_UNAVAILABLE).
 */
export class RedisBlobStore implements BlobStore, RawBlobStore {
  readonly maxBlobSize: number;
  readonly resident = false;
  readonly prefix: string;
  readonly connection: RedisConnection;
  private readonly keyPrefix: Buffer;
  private readonly keyText: string;
  private readonly verify: boolean;
  private readonly pipelineCommands: number;
  private readonly pipelineBytes: number;
  private closed = false;

  constructor(connection: RedisConnection, options: RedisBlobStoreOptions = {}) {
    this.connection = connection.acquire();
    this.prefix = checkPrefix(options.prefix ?? connection.prefix ?? 'cafs:');
    this.keyText = this.prefix + 'b:';
    this.keyPrefix = Buffer.from(this.keyText, 'utf8');
    this.verify = options.verify ?? true;
    this.maxBlobSize = options.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE;
    if (!(Number.isInteger(this.maxBlobSize) && this.maxBlobSize >= 0 && this.maxBlobSize <= REDIS_MAX_BLOB_SIZE)) {
      throw new InvalidArgumentError(`maxBlobSize must be an integer from 0 to ${REDIS_MAX_BLOB_SIZE}`);
    }
    this.pipelineCommands = options.pipelineCommands ?? 512;
    this.pipelineBytes = options.pipelineBytes ?? 8 * 1024 * 1024;
  }

  /** Connects by URL (see RedisConnection.connect) and opens a store on its own connection. */
  static async connect(url: string, options: RedisBlobStoreOptions & RedisConnectOptions = {}): Promise<RedisBlobStore> {
    const connection = await RedisConnection.connect(url, options);
    try {
      return new RedisBlobStore(connection, options); // the store holds the only reference
    } catch (err) {
      await connection.release();
      throw err;
    }
  }

  get client() {
    return this.connection.client;
  }

  /** The Redis key of a blob. */
  key(hash: Hash): string {
    return this.keyText + Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('base64url');
  }

  async put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    const [hash] = await this.putMany([bytes], options);
    return hash!;
  }

  async putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    options?.signal?.throwIfAborted();
    const prepared: HashedBlob[] = blobs.map((bytes) => {
      this.checkSize(bytes);
      return { hash: sha256(bytes), bytes };
    });
    await this.putHashed(prepared, options);
    return prepared.map((b) => b.hash);
  }

  async putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const b of blobs) {
      assertHash(b.hash);
      this.checkSize(b.bytes);
    }
    if (blobs.length === 0) return;
    // The bytes are written to the socket during the call: nothing keeps a reference.
    await this.batch(
      'put',
      blobs.map((b) => this.key(b.hash)),
      (p, key, i) => {
        const bytes = blobs[i]!.bytes;
        p.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'NX');
      },
      (i) => blobs[i]!.bytes.byteLength,
      options,
    );
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    const bytes = await this.getRaw(hash, options);
    if (bytes === undefined) throw new BlobNotFoundError(bytesToHex(hash));
    if (this.verify) {
      const actual = sha256(bytes);
      if (compareBytes(actual, hash) !== 0) throw new IntegrityError(bytesToHex(hash), bytesToHex(actual));
    }
    return bytes;
  }

  // The raw layer (for codec stores): the same keys, no hashing; named records at <prefix>m:<name>.

  async getRaw(key: Uint8Array, options?: BlobStoreOperationOptions): Promise<Uint8Array | undefined> {
    assertHash(key);
    this.checkOpen();
    const bytes = await withDeadline('get', this.connection.timeout, options?.signal, () => this.client.getBuffer(this.key(key)));
    if (bytes === null) return undefined;
    // A small reply may be a view into a whole socket read (up to 64 KiB): caches above would
    // keep all of it alive while counting only the blob. Hand back an array of its own.
    if (bytes.buffer.byteLength > bytes.byteLength) return new Uint8Array(bytes);
    return bytes;
  }

  async putRaw(entries: readonly RawEntry[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const e of entries) {
      assertHash(e.key);
      if (!(e.bytes instanceof Uint8Array)) throw new InvalidArgumentError('stored bytes must be a Uint8Array');
      if (e.bytes.length > this.maxBlobSize + STORED_OVERHEAD) throw new TooLargeError('stored blob', e.bytes.length, this.maxBlobSize + STORED_OVERHEAD);
    }
    if (entries.length === 0) return;
    await this.batch(
      'put',
      entries.map((e) => this.key(e.key)),
      (p, key, i) => {
        const bytes = entries[i]!.bytes;
        p.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'NX');
      },
      (i) => entries[i]!.bytes.byteLength,
      options,
    );
  }

  hasRaw(keys: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    return this.has(keys, options);
  }

  deleteRaw(keys: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<void> {
    return this.delete(keys, options);
  }

  rawKeys(options?: BlobStoreOperationOptions): AsyncIterable<Uint8Array> {
    return this.hashes(options);
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    const bytes = await withDeadline('get', this.connection.timeout, undefined, () => this.client.getBuffer(this.metaKey(name)));
    return bytes === null ? undefined : new Uint8Array(bytes);
  }

  async setMeta(name: string, bytes: Uint8Array | undefined): Promise<void> {
    this.checkOpen();
    const key = this.metaKey(name);
    await withDeadline('set', this.connection.timeout, undefined, async () => {
      if (bytes === undefined) await this.client.del(key);
      else await this.client.set(key, Buffer.from(bytes));
    });
  }

  private metaKey(name: string): string {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new InvalidArgumentError(`bad record name ${JSON.stringify(name)}`);
    return `${this.prefix}m:${name}`;
  }

  async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    options?.signal?.throwIfAborted();
    for (const h of hashes) assertHash(h);
    if (hashes.length === 0) return [];
    const replies = await this.batch('has', hashes.map((h) => this.key(h)), (p, key) => p.exists(key), () => 0, options);
    return replies.map(([, n]) => n === 1);
  }

  async delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const h of hashes) assertHash(h);
    if (hashes.length === 0) return;
    await this.batch('delete', hashes.map((h) => this.key(h)), (p, key) => p.unlink(key), () => 0, options);
  }

  /**
   * Every stored hash in byte order. Scans every master (SCAN MATCH <prefix>b:*), so it costs a
   * pass over the whole keyspace and holds the hashes (32 bytes each) in memory to sort them.
   */
  async *hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    this.checkOpen();
    const pattern = globEscape(this.prefix + 'b:') + '*';
    const out: Hash[] = [];
    const plen = this.keyPrefix.length;
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    if (nodes.length === 0) throw toStoreError('hashes', new Error('no master is connected'));
    await Promise.all(
      nodes.map(async (node) => {
        let cursor = '0';
        do {
          const [next, keys] = await withDeadline('hashes (SCAN)', this.connection.timeout, options?.signal, () =>
            node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000),
          );
          cursor = next.toString();
          for (const k of keys) {
            if (k.length !== plen + KEY_HASH_CHARS) continue;
            const h = Buffer.from(k.subarray(plen).toString('latin1'), 'base64url');
            if (h.length === HASH_BYTES) out.push(new Uint8Array(h.buffer, h.byteOffset, HASH_BYTES));
          }
        } while (cursor !== '0');
      }),
    );
    out.sort(compareBytes);
    let last: Hash | undefined;
    for (const h of out) {
      if (last !== undefined && compareBytes(last, h) === 0) continue; // a key moving between masters
      last = h;
      yield h;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.release();
  }

  /**
   * Sends one command per key, grouped by the master owning the key's slot: one pipeline per
   * master (chunked), all in parallel. Replies come back in key order; any error throws.
   */
  private async batch(
    op: string,
    keys: string[],
    add: (p: ChainableCommander, key: string, index: number) => void,
    size: (index: number) => number,
    options: BlobStoreOperationOptions | undefined,
  ): Promise<Reply[]> {
    this.checkOpen();
    const client = this.client;
    const replies = new Array<Reply>(keys.length);
    await withDeadline(op, this.connection.timeout, options?.signal, async () => {
      // Every command here is idempotent (SET NX, EXISTS, UNLINK): when a slot moved (MOVED/ASK,
      // e.g. a stale slot map after a master came back), refresh the map and run the batch again.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.runChunks(client, keys, add, size, replies);
          return;
        } catch (err) {
          if (!(client instanceof Cluster) || attempt >= 3 || !/^(MOVED|ASK) /.test((err as Error)?.message ?? '')) throw err;
          await new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()));
        }
      }
    });
    return replies;
  }

  private async runChunks(
    client: RedisBlobStore['client'],
    keys: string[],
    add: (p: ChainableCommander, key: string, index: number) => void,
    size: (index: number) => number,
    replies: Reply[],
  ): Promise<void> {
    const groups = new Map<string, number[]>();
    if (client instanceof Cluster) {
      const slots = client.slots;
      keys.forEach((key, i) => {
        const slot = keySlot(Buffer.from(key, 'utf8'));
        // Unknown owner: one group per slot, so a pipeline never mixes masters.
        const owner = slots[slot]?.[0] ?? `?${slot}`;
        let g = groups.get(owner);
        if (g === undefined) groups.set(owner, (g = []));
        g.push(i);
      });
    } else groups.set('', keys.map((_, i) => i));
    const chunks: number[][] = [];
    for (const g of groups.values()) {
      let chunk: number[] = [];
      let bytes = 0;
      for (const i of g) {
        const s = size(i);
        if (chunk.length > 0 && (chunk.length >= this.pipelineCommands || bytes + s > this.pipelineBytes)) {
          chunks.push(chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(i);
        bytes += s;
      }
      if (chunk.length > 0) chunks.push(chunk);
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        const p = client.pipeline();
        for (const i of chunk) add(p, keys[i]!, i);
        const res = await p.exec();
        if (res === null) throw new Error('pipeline discarded');
        chunk.forEach((i, j) => {
          const r = res[j] as Reply;
          if (r[0] !== null) throw r[0];
          replies[i] = r;
        });
      }),
    );
  }

  private checkSize(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('a blob must be a Uint8Array');
    if (bytes.length > this.maxBlobSize) throw new TooLargeError('blob', bytes.length, this.maxBlobSize);
  }

  private checkOpen(): void {
    if (this.closed) throw toStoreError('use', new Error('Connection is closed: the store was closed'));
  }
}

function assertHash(x: unknown): asserts x is Hash {
  if (!(x instanceof Uint8Array) || x.length !== HASH_BYTES) {
    throw new InvalidArgumentError(`hash must be a ${HASH_BYTES}-byte Uint8Array`);
  }
}

/** Escapes Redis glob characters (* ? [ ] \\) in a key prefix. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}
