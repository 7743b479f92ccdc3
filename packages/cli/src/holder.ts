// A repository stays usable while `cafs serve` or `cafs mount` holds its LevelDB lock: the
// holder answers the store and names over a Unix socket in the repository (`cafs.sock`, mode
// 0600), and other cafs commands on this machine open the repository through it.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BlobNotFoundError, bytesToHex, parseHash, sha256, type BlobStore, type BlobStoreOperationOptions, type Hash, type HashedBlob } from '@cafs/kv';
import { SOCKET_NAME } from './repo-open.js';
import { ABSENT, BRANCH_PREFIX, ConflictError, RepoError, decodeFrames, decodeHashes, encodeFrames, encodeHashes, frameHead, type NameStore, type Repo } from '@cafs/repo';

const MAX_BODY = 256 * 1024 * 1024;

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new Error('request too large');
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const text = new TextDecoder();

export interface HoldOptions {
  /** Branches this process uses (serves by name, or mounts): deleting one through the holder is refused (EBUSY). */
  inUse?: readonly string[] | undefined;
  /** What holds them, for the refusal: 'cafs serve' (default) or 'cafs mount'. */
  holder?: string | undefined;
}

/** Serves `repo`'s store and names on `<repoDir>/cafs.sock` until the returned close(). */
export async function holdRepository(repo: Repo, repoDir: string, options: HoldOptions = {}): Promise<{ close(): Promise<void> }> {
  const inUse = new Set((options.inUse ?? []).map((b) => BRANCH_PREFIX + b));
  const path = join(repoDir, SOCKET_NAME);
  // We hold the LevelDB lock, so a socket left here is a dead holder's.
  if (existsSync(path)) unlinkSync(path);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const input = await body(req);
    const reply = (status: number, out: Uint8Array | string): void => {
      res.writeHead(status, { 'Content-Length': String(typeof out === 'string' ? Buffer.byteLength(out) : out.length) });
      res.end(out);
    };
    switch (req.url) {
      case '/store/get': {
        const parts: Uint8Array[] = [];
        for (const h of decodeHashes(input)) {
          try {
            const b = await repo.store.get(h);
            parts.push(frameHead(h, b.length), b);
          } catch (err) {
            if (!(err instanceof BlobNotFoundError)) throw err;
            parts.push(frameHead(h, ABSENT));
          }
        }
        return reply(200, Buffer.concat(parts));
      }
      case '/store/has':
        return reply(200, Uint8Array.from(await repo.store.has(decodeHashes(input)), (x) => (x ? 1 : 0)));
      case '/store/put': {
        const blobs = decodeFrames(input, repo.store.maxBlobSize).map((f) => ({ hash: f.hash, bytes: f.bytes! }));
        for (const b of blobs) if (bytesToHex(sha256(b.bytes)) !== bytesToHex(b.hash)) return reply(422, 'a blob does not match its hash');
        await repo.store.putHashed(blobs);
        return reply(200, '');
      }
      case '/names/get': {
        const h = await repo.names.get(text.decode(input));
        return reply(200, h === undefined ? '' : bytesToHex(h));
      }
      case '/names/cas': {
        const { name, expect, next } = JSON.parse(text.decode(input)) as { name: string; expect: string | null; next: string | null };
        if (next === null && inUse.has(name)) return reply(423, `branch ${name.slice(BRANCH_PREFIX.length)} is in use by \`${options.holder ?? 'cafs serve'}\` (pid ${process.pid}): stop it first`);
        try {
          await repo.names.compareAndSwap(name, expect === null ? undefined : parseHash(expect), next === null ? undefined : parseHash(next));
        } catch (err) {
          if (err instanceof ConflictError) return reply(409, JSON.stringify({ ref: err.ref, expected: err.expected ?? null, actual: err.actual ?? null }));
          throw err;
        }
        return reply(200, '');
      }
      case '/names/list': {
        const out: [string, string][] = [];
        for await (const [k, h] of repo.names.list(text.decode(input))) out.push([k, bytesToHex(h)]);
        return reply(200, JSON.stringify(out));
      }
      default:
        return reply(404, 'no such route');
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String((err as Error).message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        try {
          unlinkSync(path);
        } catch {}
      }),
  };
}

/** One request to the holder. */
function call(socketPath: string, route: string, payload: Uint8Array | string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: route, method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function ok(socketPath: string, route: string, payload: Uint8Array | string): Promise<Buffer> {
  const r = await call(socketPath, route, payload);
  if (r.status !== 200) throw new Error(`the cafs process holding the repository answered ${route} with ${r.status}: ${r.body.toString()}`);
  return r.body;
}

/** The holder's store, as a BlobStore. */
export class HeldBlobStore implements BlobStore {
  readonly maxBlobSize = 4 * 1024 * 1024;
  constructor(readonly socketPath: string) {}

  async get(hash: Hash, _o?: BlobStoreOperationOptions): Promise<Uint8Array> {
    const [f] = decodeFrames(new Uint8Array(await ok(this.socketPath, '/store/get', encodeHashes([hash]))), 64 * 1024 * 1024);
    if (f === undefined || f.bytes === undefined) throw new BlobNotFoundError(bytesToHex(hash));
    return f.bytes;
  }
  async has(hashes: readonly Hash[]): Promise<boolean[]> {
    return [...(await ok(this.socketPath, '/store/has', encodeHashes(hashes)))].map((b) => b === 1);
  }
  async putHashed(blobs: readonly HashedBlob[]): Promise<void> {
    // Bounded requests: the holder buffers each one.
    for (let i = 0, size = 0, start = 0; i <= blobs.length; i++) {
      if (i === blobs.length || size + blobs[i]!.bytes.length > 32 * 1024 * 1024) {
        if (i > start) await ok(this.socketPath, '/store/put', encodeFrames(blobs.slice(start, i)));
        start = i;
        size = 0;
      }
      if (i < blobs.length) size += blobs[i]!.bytes.length;
    }
  }
  async put(bytes: Uint8Array): Promise<Hash> {
    const hash = sha256(bytes);
    await this.putHashed([{ hash, bytes }]);
    return hash;
  }
  async putMany(blobs: readonly Uint8Array[]): Promise<Hash[]> {
    const hashed = blobs.map((bytes) => ({ hash: sha256(bytes), bytes }));
    await this.putHashed(hashed);
    return hashed.map((b) => b.hash);
  }
  delete(): Promise<void> {
    return Promise.reject(new Error('blobs are deleted by the cafs process holding the repository (stop it to run gc)'));
  }
  // eslint-disable-next-line require-yield
  async *hashes(): AsyncGenerator<Hash> {
    throw new Error('listing every blob needs the repository itself (stop the cafs process holding it)');
  }
  async close(): Promise<void> {}
}

/** The holder's names, as a NameStore. */
export class HeldNameStore implements NameStore {
  constructor(readonly socketPath: string) {}
  async get(name: string): Promise<Hash | undefined> {
    const hex = (await ok(this.socketPath, '/names/get', name)).toString();
    return hex === '' ? undefined : parseHash(hex);
  }
  async compareAndSwap(name: string, expect: Hash | undefined, next: Hash | undefined): Promise<void> {
    const r = await call(this.socketPath, '/names/cas', JSON.stringify({ name, expect: expect ? bytesToHex(expect) : null, next: next ? bytesToHex(next) : null }));
    if (r.status === 409) {
      const c = JSON.parse(r.body.toString()) as { ref: string; expected: string | null; actual: string | null };
      throw new ConflictError(c.ref, c.expected ?? undefined, c.actual ?? undefined);
    }
    if (r.status === 423) throw new RepoError('EBUSY', r.body.toString());
    if (r.status !== 200) throw new Error(`the cafs process holding the repository answered with ${r.status}: ${r.body.toString()}`);
  }
  async *list(prefix: string): AsyncGenerator<[string, Hash]> {
    for (const [k, h] of JSON.parse((await ok(this.socketPath, '/names/list', prefix)).toString()) as [string, string][]) yield [k, parseHash(h)];
  }
  async close(): Promise<void> {}
}

/** Starts the holder for a repository this process opened itself on disk; else nothing. */
export async function holdIfOwner(repo: Repo, repoDir: string | undefined, options: HoldOptions = {}): Promise<{ close(): Promise<void> } | undefined> {
  if (repoDir === undefined || repo.names instanceof HeldNameStore) return undefined;
  return holdRepository(repo, repoDir, options);
}
