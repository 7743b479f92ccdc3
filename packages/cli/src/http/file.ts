// A file's response: validators, conditional requests, single ranges and multipart/byteranges,
// every byte streamed from the store.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hash } from '@cafs/kv';
import type { Fs, Stats } from '@cafs/fs';
import mime from 'mime-types';
import { realPath } from './paths.js';
import { planRanges, type ByteSpan } from './range.js';
import { notModified, pipe, sent, write } from './respond.js';

/** ETags already computed, per filesystem: a root never changes, so neither does a path's tag under it. */
const TAGS_KEPT = 4096;
const tagCache = new WeakMap<Fs, Map<string, string>>();

/**
 * fileTag, remembered per (root, path): computing it reads every extent entry of the file (about
 * 880 for 64 MiB), which dominated the cost of a range request.
 */
async function cachedFileTag(fs: Fs, root: Hash, path: string, signal: AbortSignal): Promise<string> {
  let tags = tagCache.get(fs);
  if (tags === undefined) tagCache.set(fs, (tags = new Map()));
  const id = Buffer.from(root).toString('hex') + path;
  const hit = tags.get(id);
  if (hit !== undefined) return hit;
  const tag = await fileTag(fs, root, path, signal);
  if (signal.aborted) return tag;
  if (tags.size >= TAGS_KEPT) tags.delete(tags.keys().next().value!);
  tags.set(id, tag);
  return tag;
}

/** A strong validator of a file's content and metadata: the hash of its keys and values. */
async function fileTag(fs: Fs, root: Hash, path: string, signal: AbortSignal): Promise<string> {
  // Where the inode lives: a hard link's other name tags the shared content.
  const key = await fs.inodeKey(root, await realPath(fs, root, path));
  const lt = new Uint8Array(key.length + 1);
  lt.set(key);
  lt[key.length] = 1;
  const hash = createHash('sha256');
  const len = Buffer.alloc(4);
  for await (const e of fs.tree.entries(root, { gte: key, lt })) {
    if (signal.aborted) break;
    for (const part of [e.key, e.value]) {
      len.writeUInt32BE(part.length);
      hash.update(len);
      hash.update(part);
    }
  }
  return `"${hash.digest('hex').slice(0, 40)}"`;
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export interface FileRequest {
  req: IncomingMessage;
  res: ServerResponse;
  fs: Fs;
  root: Hash;
  path: string;
  st: Stats;
  cache: string;
  signal: AbortSignal;
}

export async function serveFile({ req, res, fs, root, path, st, cache, signal }: FileRequest): Promise<void> {
  const head = req.method === 'HEAD';
  const size = Number(st.size);
  const etag = await cachedFileTag(fs, root, path, signal);
  const type = mime.contentType(path.split('/').pop()!) || 'application/octet-stream';
  const lastModified = st.mtime.toUTCString();
  const headers: Record<string, string> = { ETag: etag, 'Cache-Control': cache, 'Accept-Ranges': 'bytes', 'Last-Modified': lastModified };
  if (etagMatches(req.headers['if-none-match'], etag)) return notModified(res, headers);

  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'];
  const rangeApplies = rangeHeader !== undefined && (ifRange === undefined || ifRange === etag || ifRange === lastModified);
  const plan = rangeApplies ? planRanges(rangeHeader, size) : { kind: 'whole' as const };
  if (plan.kind === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': '0', ...headers });
    res.end();
    return;
  }
  if (plan.kind === 'ranges' && plan.ranges.length > 1) return multipart(res, fs, root, path, plan.ranges, { size, type, etag, head, headers, signal });

  const { start, end } = plan.kind === 'ranges' ? plan.ranges[0]! : { start: 0, end: size - 1 };
  if (plan.kind === 'ranges') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(plan.kind === 'ranges' ? 206 : 200, { 'Content-Type': type, 'Content-Length': String(Math.max(0, end - start + 1)), ...headers });
  if (head || size === 0) {
    res.end();
    return;
  }
  const length = end - start + 1;
  // A small body goes out with its headers in one write; larger ones stream with backpressure.
  if (length <= SMALL_BODY) {
    res.end(await fs.read(root, path, { offset: start, length }));
    sent(length);
  }
  else if (await pipe(res, fs.stream(root, path, { start, end: end + 1, signal }))) res.end();
}

/** Bodies up to this size are read whole (memory per request stays bounded by it). */
const SMALL_BODY = 256 * 1024;

async function multipart(
  res: ServerResponse,
  fs: Fs,
  root: Hash,
  path: string,
  ranges: ByteSpan[],
  o: { size: number; type: string; etag: string; head: boolean; headers: Record<string, string>; signal: AbortSignal },
): Promise<void> {
  const boundary = 'cafs' + createHash('sha256').update(o.etag + JSON.stringify(ranges)).digest('hex').slice(0, 24);
  const partHead = (r: ByteSpan): string => `\r\n--${boundary}\r\nContent-Type: ${o.type}\r\nContent-Range: bytes ${r.start}-${r.end}/${o.size}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  // The framing is ASCII, so its length in bytes is its length in characters.
  let length = tail.length;
  for (const r of ranges) length += partHead(r).length + (r.end - r.start + 1);
  res.writeHead(206, { 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': String(length), ...o.headers });
  if (o.head) {
    res.end();
    return;
  }
  for (const r of ranges) {
    if (!(await write(res, partHead(r)))) return;
    if (!(await pipe(res, fs.stream(root, path, { start: r.start, end: r.end + 1, signal: o.signal })))) return;
  }
  if (await write(res, tail)) res.end();
}
