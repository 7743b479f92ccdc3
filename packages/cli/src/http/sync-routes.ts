// The server side of the sync protocol (docs/sync.md): refs, blobs by hash, plans, and, when
// pushes are allowed, verified blob uploads and compare-and-swap branch updates.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlobNotFoundError, bytesToHex, parseHash, sha256, type Hash } from '@cafs/kv';
import { acceptBranchUpdate, checkName, decodeFrames, decodeHashes, encodePlan, frameHead, planTransfer, ABSENT, type Repo } from '@cafs/repo';
import { HttpError } from './errors.js';
import { etagMatches } from './file.js';
import { notModified, send, write } from './respond.js';

/** Hashes per /sync/blobs or /sync/has request. */
export const MAX_HASHES = 4096;
const HEX64 = /^[0-9a-f]{64}$/;

export interface PushOptions {
  /** The bearer token pushes must present. */
  token: string;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `request bodies here are limited to ${limit} bytes`, { Connection: 'close' });
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new HttpError(413, `request bodies here are limited to ${limit} bytes`, { Connection: 'close' });
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const json = (res: ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body) + '\n', false);

function hashList(bytes: Uint8Array): Hash[] {
  let hashes: Hash[];
  try {
    hashes = decodeHashes(bytes);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  if (hashes.length > MAX_HASHES) throw new HttpError(413, `at most ${MAX_HASHES} hashes per request`);
  return hashes;
}

function parseHexList(x: unknown, what: string): Hash[] {
  if (!Array.isArray(x) || x.length > 1024 || !x.every((h) => typeof h === 'string' && HEX64.test(h))) throw new HttpError(400, `${what} is a list of at most 1024 hashes (64 hex digits)`);
  return x.map((h: string) => parseHash(h));
}

function authorize(req: IncomingMessage, push: PushOptions | undefined): void {
  if (push === undefined) throw new HttpError(403, 'this server does not accept pushes (start it with --allow-push)');
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) throw new HttpError(401, 'pushes need a bearer token (Authorization: Bearer ...)', { 'WWW-Authenticate': 'Bearer realm="cafs"' });
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(push.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw new HttpError(403, 'wrong token');
}

/** Answers a sync route; false when `segs` is not one. */
export async function serveSync(req: IncomingMessage, res: ServerResponse, repo: Repo, segs: string[], o: { push: PushOptions | undefined; maxBodyBytes: number; branches: string[] | undefined }): Promise<boolean> {
  const [kind, sub] = segs;
  const method = req.method ?? 'GET';
  if (kind === 'refs' && segs.length === 1) {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'GET /refs', { Allow: 'GET, HEAD' });
    const visible = (name: string): boolean => o.branches === undefined || o.branches.includes(name);
    const branches = Object.fromEntries((await repo.branches()).filter((b) => visible(b.name)).map((b) => [b.name, bytesToHex(b.commit)]));
    const tags = Object.fromEntries((await repo.tags()).map((t) => [t.name, bytesToHex(t.commit)]));
    json(res, 200, { branches, tags });
    return true;
  }
  if (kind === 'blob' && segs.length === 2) {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'GET /blob/<hash>', { Allow: 'GET, HEAD' });
    if (!HEX64.test(sub ?? '')) throw new HttpError(400, 'a blob is named by 64 lowercase hex digits');
    const etag = `"${sub}"`;
    const headers = { ETag: etag, 'Cache-Control': 'public, max-age=31536000, immutable' };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      notModified(res, headers);
      return true;
    }
    let bytes: Uint8Array;
    try {
      bytes = await repo.store.get(parseHash(sub!));
    } catch (err) {
      if (err instanceof BlobNotFoundError || (err as { code?: string }).code === 'ERR_BLOB_NOT_FOUND') throw new HttpError(404, `no blob ${sub}`);
      throw err;
    }
    send(res, 200, 'application/octet-stream', bytes, method === 'HEAD', headers);
    return true;
  }
  if (kind !== 'sync' || segs.length !== 2) return false;
  if (method !== 'POST') throw new HttpError(405, `POST /sync/${sub}`, { Allow: 'POST' });

  if (sub === 'plan') {
    let body: { want?: unknown; have?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await readBody(req, 1 << 20))) as typeof body;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'the plan request is JSON {want: [hash], have: [hash]}');
    }
    const want = parseHexList(body.want, 'want');
    const have = parseHexList(body.have ?? [], 'have');
    const plan = await planTransfer(repo.fs.tree, { want, have }, { cuts: await repo.historyCuts() });
    send(res, 200, 'application/octet-stream', encodePlan(plan), false);
    return true;
  }
  if (sub === 'blobs') {
    const hashes = hashList(await readBody(req, MAX_HASHES * 32));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    for (const h of hashes) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await repo.store.get(h);
      } catch (err) {
        if (!(err instanceof BlobNotFoundError) && (err as { code?: string }).code !== 'ERR_BLOB_NOT_FOUND') throw err;
      }
      if (!(await write(res, frameHead(h, bytes === undefined ? ABSENT : bytes.length)))) return true;
      if (bytes !== undefined && !(await write(res, bytes))) return true;
    }
    res.end();
    return true;
  }
  if (sub === 'has') {
    const hashes = hashList(await readBody(req, MAX_HASHES * 32));
    const present = await repo.store.has(hashes);
    send(res, 200, 'application/octet-stream', Uint8Array.from(present, (p) => (p ? 1 : 0)), false);
    return true;
  }
  if (sub === 'put') {
    authorize(req, o.push);
    const body = await readBody(req, o.maxBodyBytes);
    let frames;
    try {
      frames = decodeFrames(body, repo.store.maxBlobSize);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const blobs: { hash: Hash; bytes: Uint8Array }[] = [];
    for (const f of frames) {
      if (f.bytes === undefined) throw new HttpError(400, `frame for ${bytesToHex(f.hash)} has no bytes`);
      const actual = bytesToHex(sha256(f.bytes));
      // Nothing of a lying batch is stored.
      if (actual !== bytesToHex(f.hash)) throw new HttpError(422, `blob ${bytesToHex(f.hash)} does not match its bytes (they hash to ${actual}); nothing stored`);
      blobs.push({ hash: f.hash, bytes: f.bytes });
    }
    await repo.store.putHashed(blobs);
    json(res, 200, { stored: blobs.length });
    return true;
  }
  if (sub === 'ref') {
    authorize(req, o.push);
    let body: { branch?: unknown; old?: unknown; new?: unknown; force?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await readBody(req, 1 << 16))) as typeof body;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'the ref update is JSON {branch, old, new, force}');
    }
    if (typeof body.branch !== 'string') throw new HttpError(400, 'branch must be a name');
    checkName(body.branch, 'branch');
    if (o.branches !== undefined && !o.branches.includes(body.branch)) throw new HttpError(403, `this server does not serve branch ${body.branch}`);
    if (typeof body.new !== 'string' || !HEX64.test(body.new)) throw new HttpError(400, 'new must be a commit hash');
    if (body.old !== null && (typeof body.old !== 'string' || !HEX64.test(body.old))) throw new HttpError(400, 'old must be a commit hash or null');
    const old = body.old === null ? undefined : parseHash(body.old as string);
    try {
      await acceptBranchUpdate(repo, body.branch, old, parseHash(body.new), body.force === true);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_CONFLICT' || code === 'ERR_NON_FAST_FORWARD') throw new HttpError(409, (err as Error).message);
      if (code === 'ERR_INCOMPLETE' || code === 'EINVAL') throw new HttpError(422, (err as Error).message);
      throw err;
    }
    json(res, 200, { branch: body.branch, commit: body.new });
    return true;
  }
  throw new HttpError(404, `no route /sync/${sub}`);
}
