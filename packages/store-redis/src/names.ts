// A repository's names (branches, tags) on Redis: one key per name, compare-and-swap by a Lua
// script (atomic on the master owning the key), with a bounded reflog updated in the same script.
import { Cluster } from 'ioredis';
import { HASH_BYTES, InvalidArgumentError, bytesToHex, compareBytes, type Hash } from '@cafs/kv';
import { ConflictError, REFLOG_PREFIX, type NameStore } from '@cafs/repo';
import { RedisConnection, withDeadline, type RedisConnectOptions } from './connection.js';
import { checkPrefix, globEscape } from './blob-store.js';
import { toStoreError } from './errors.js';
import { keySlot } from './slot.js';

// KEYS[1] the name, KEYS[2] its reflog.
// ARGV: hasExpect ('1'/'0'), expect, hasNext, next, reflog text ("old new"), reflog length.
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return {0, cur} end
elseif cur then
  return {0, cur}
end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[4]) else redis.call('DEL', KEYS[1]) end
local keep = tonumber(ARGV[6])
if keep > 0 then
  local t = redis.call('TIME')
  redis.call('LPUSH', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])) .. ' ' .. ARGV[5])
  redis.call('LTRIM', KEYS[2], 0, keep - 1)
end
return {1}
`;

export interface ReflogEntry {
  /** Server time of the update, in microseconds since the epoch. */
  timeUs: bigint;
  old: string | undefined;
  new: string | undefined;
}

export interface RedisNameStoreOptions {
  /** The repository's key prefix (default "cafs:", or the URL's ?prefix=); same rules as the blob store's. */
  prefix?: string | undefined;
  /** Reflog entries kept per name (default 100; 0 keeps none). */
  reflog?: number | undefined;
}

type CasClient = { cafsCasBuffer(k1: Buffer, k2: Buffer, ...args: (string | Buffer)[]): Promise<(number | Buffer | null)[]> };

/**
 * Names on Redis. Every name of a repository carries the hash tag `{<prefix>n}`, so they share one
 * slot: `list` reads that slot only (CLUSTER GETKEYSINSLOT) instead of scanning the cluster, and
 * the CAS script may update the name and its reflog together. Names are tiny and rarely written,
 * so one slot per repository is no hot spot; blobs stay spread over every master.
 */
export class RedisNameStore implements NameStore {
  readonly connection: RedisConnection;
  readonly prefix: string;
  private readonly tag: string;
  private readonly reflogLength: number;
  private closed = false;

  constructor(connection: RedisConnection, options: RedisNameStoreOptions = {}) {
    this.prefix = checkPrefix(options.prefix ?? connection.prefix ?? 'cafs:');
    this.tag = `{${this.prefix}n}`;
    this.reflogLength = options.reflog ?? 100;
    if (!(Number.isInteger(this.reflogLength) && this.reflogLength >= 0)) throw new InvalidArgumentError('reflog must be a whole number');
    this.connection = connection.acquire();
    const client = connection.client as unknown as { cafsCas?: unknown; defineCommand(name: string, def: { numberOfKeys: number; lua: string }): void };
    if (client.cafsCas === undefined) client.defineCommand('cafsCas', { numberOfKeys: 2, lua: CAS_SCRIPT });
  }

  static async connect(url: string, options: RedisNameStoreOptions & RedisConnectOptions = {}): Promise<RedisNameStore> {
    const connection = await RedisConnection.connect(url, options);
    try {
      return new RedisNameStore(connection, options);
    } catch (err) {
      await connection.release();
      throw err;
    }
  }

  private refKey(name: string): Buffer {
    return Buffer.from(`${this.tag}r:${name}`, 'utf8');
  }

  private logKey(name: string): Buffer {
    return Buffer.from(`${this.tag}l:${name}`, 'utf8');
  }

  async get(name: string): Promise<Hash | undefined> {
    this.checkOpen();
    const v = await withDeadline('names get', this.connection.timeout, undefined, () => this.connection.client.getBuffer(this.refKey(name)));
    return v === null ? undefined : checkValue(name, v);
  }

  async compareAndSwap(name: string, expect: Hash | undefined, next: Hash | undefined): Promise<void> {
    this.checkOpen();
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('a name must be a non-empty string');
    if (expect !== undefined && !(expect instanceof Uint8Array && expect.length === HASH_BYTES)) throw new InvalidArgumentError('expect must be a hash');
    if (next !== undefined && !(next instanceof Uint8Array && next.length === HASH_BYTES)) throw new InvalidArgumentError('next must be a hash');
    const buf = (h: Hash | undefined) => (h === undefined ? Buffer.alloc(0) : Buffer.from(h.buffer, h.byteOffset, h.byteLength));
    const reply = await withDeadline('names compareAndSwap', this.connection.timeout, undefined, () =>
      (this.connection.client as unknown as CasClient).cafsCasBuffer(
        this.refKey(name),
        this.logKey(name),
        expect === undefined ? '0' : '1',
        buf(expect),
        next === undefined ? '0' : '1',
        buf(next),
        `${expect === undefined ? '-' : bytesToHex(expect)} ${next === undefined ? '-' : bytesToHex(next)}`,
        // The repository's own reflog names (refs/logs/...) are history already: no log of their own.
        String(name.startsWith(REFLOG_PREFIX) ? 0 : this.reflogLength),
      ),
    );
    if (reply[0] === 1) return;
    const actual = reply[1] instanceof Buffer ? bytesToHex(reply[1]) : undefined;
    throw new ConflictError(name, expect && bytesToHex(expect), actual);
  }

  /** Names starting with `prefix`, in byte order of their UTF-8 form (as LevelNameStore). */
  async *list(prefix: string): AsyncGenerator<[string, Hash]> {
    this.checkOpen();
    const start = Buffer.from(`${this.tag}r:${prefix}`, 'utf8');
    const cut = Buffer.byteLength(`${this.tag}r:`);
    const keys = (await this.slotKeys()).filter((k) => k.length >= start.length && k.subarray(0, start.length).equals(start));
    keys.sort(compareBytes);
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const values = await withDeadline('names list', this.connection.timeout, undefined, () => this.connection.client.mgetBuffer(...chunk));
      for (let j = 0; j < chunk.length; j++) {
        const v = values[j];
        if (v === null || v === undefined) continue; // deleted meanwhile
        const name = chunk[j]!.subarray(cut).toString('utf8');
        yield [name, checkValue(name, v)];
      }
    }
  }

  /** The last updates of `name`, newest first (at most the configured reflog length). */
  async reflog(name: string): Promise<ReflogEntry[]> {
    this.checkOpen();
    const lines = await withDeadline('names reflog', this.connection.timeout, undefined, () => this.connection.client.lrange(this.logKey(name), 0, -1));
    return lines.map((line) => {
      const [t, o, n] = line.split(' ');
      return { timeUs: BigInt(t!), old: o === '-' ? undefined : o, new: n === '-' ? undefined : n };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.release();
  }

  /** Every key in this repository's names slot. */
  private async slotKeys(): Promise<Buffer[]> {
    const client = this.connection.client;
    const timeout = this.connection.timeout;
    if (!(client instanceof Cluster)) {
      const out: Buffer[] = [];
      const pattern = globEscape(`${this.tag}r:`) + '*';
      let cursor = '0';
      do {
        const [next, keys] = await withDeadline('names list (SCAN)', timeout, undefined, () => client.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000));
        cursor = next.toString();
        out.push(...keys);
      } while (cursor !== '0');
      return out;
    }
    const slot = keySlot(Buffer.from(this.tag));
    return withDeadline('names list', timeout, undefined, async () => {
      const owner = client.slots[slot]?.[0];
      const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
      if (node === undefined) throw new Error(`no connected master serves slot ${slot}`);
      const count = await node.cluster('COUNTKEYSINSLOT', slot);
      if (count === 0) return [];
      return (await node.callBuffer('CLUSTER', 'GETKEYSINSLOT', String(slot), String(count))) as Buffer[];
    });
  }

  private checkOpen(): void {
    if (this.closed) throw toStoreError('use', new Error('Connection is closed: the name store was closed'));
  }
}

function checkValue(name: string, v: Buffer): Hash {
  if (v.length !== HASH_BYTES) throw toStoreError('names get', new Error(`name ${name} holds ${v.length} bytes, not a hash`));
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}
