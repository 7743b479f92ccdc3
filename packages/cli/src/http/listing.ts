// Directory listings, a page at a time: `?after=NAME&limit=N` (default 1000, at most 10000
// entries), the next page named in a `Link: <...>; rel="next"` header, the JSON's `next` and
// the HTML's last link. A 100k-entry directory never sits in memory at once.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bytesToHex, type Hash } from '@cafs/kv';
import type { DirEntry, Fs } from '@cafs/fs';
import { etagMatches } from './file.js';
import { HttpError } from './errors.js';
import { notModified, TextSink } from './respond.js';

export const PAGE_DEFAULT = 1000;
export const PAGE_MAX = 10000;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `limit` and `after` of a paged request. */
export function pageParams(query: URLSearchParams): { limit: number; after: string | undefined } {
  const raw = query.get('limit');
  const limit = raw === null ? PAGE_DEFAULT : Number(raw);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > PAGE_MAX) throw new HttpError(400, `limit must be a whole number from 1 to ${PAGE_MAX}`);
  const after = query.get('after') ?? undefined;
  if (after !== undefined && (after.length === 0 || after.length > 4096 || after.includes('\0'))) throw new HttpError(400, 'bad after');
  return { limit, after };
}

/** The URL of the next page: this one's path with `after` set. */
export function nextLink(urlPath: string, query: URLSearchParams, after: string): string {
  const q = new URLSearchParams(query);
  q.set('after', after);
  // Relative to the last path segment, so it works under a prefix (Express's app.use).
  return urlPath.slice(urlPath.lastIndexOf('/') + 1) + '?' + q.toString();
}

export interface ListingRequest {
  req: IncomingMessage;
  res: ServerResponse;
  fs: Fs;
  root: Hash;
  path: string;
  title: string;
  cache: string;
  urlPath: string;
  query: URLSearchParams;
}

export async function serveListing({ req, res, fs, root, path, title, cache, urlPath, query }: ListingRequest): Promise<void> {
  const head = req.method === 'HEAD';
  const wantJson = /application\/json/.test(req.headers.accept ?? '');
  const { limit, after } = pageParams(query);
  const etag = `"${createHash('sha256')
    .update([bytesToHex(root), path, wantJson ? 'json' : 'html', String(limit), after ?? ''].join('\0'))
    .digest('hex')
    .slice(0, 40)}"`;
  const headers: Record<string, string> = { ETag: etag, 'Cache-Control': cache, Vary: 'Accept' };
  if (etagMatches(req.headers['if-none-match'], etag)) return notModified(res, headers);

  // A page under an immutable root never changes: small rendered pages are kept (see PAGES_KEPT).
  const id = [etag, title, urlPath, query.toString()].join('\0');
  const hit = pages.get(id);
  if (hit !== undefined) {
    pages.delete(id);
    pages.set(id, hit);
    return sendPage(res, head, wantJson, headers, hit);
  }

  // One page (bounded by PAGE_MAX) is read ahead, to know whether another follows.
  const page: DirEntry[] = [];
  let more = false;
  for await (const e of fs.dirEntries(root, path, { after })) {
    if (page.length === limit) {
      more = true;
      break;
    }
    page.push(e);
  }
  const next = more ? page[page.length - 1]!.name : undefined;
  const nextUrl = next === undefined ? undefined : nextLink(urlPath, query, next);
  // The body, in pieces: at most PAGE_MAX rows, so bounded whatever the directory's size.
  const pieces: string[] = [];
  if (wantJson) {
    pieces.push(`{"path":${JSON.stringify(path)},"entries":[`);
    for (const [i, e] of page.entries()) pieces.push((i === 0 ? '' : ',') + JSON.stringify({ name: e.name, type: e.type, size: Number(e.size) }));
    pieces.push(`]${next === undefined ? '' : `,"next":${JSON.stringify(next)}`}}`);
  } else {
    const t = escapeHtml(title);
    pieces.push(`<!doctype html>\n<html><head><meta charset="utf-8"><title>${t}</title></head><body><h1>${t}</h1><ul>\n${path === '/' || after !== undefined ? '' : '<li><a href="../">../</a></li>\n'}`);
    for (const e of page) {
      const dir = e.type === 'directory';
      const href = encodeURIComponent(e.name) + (dir ? '/' : '');
      pieces.push(`<li><a href="${escapeHtml(href)}">${escapeHtml(e.name)}${dir ? '/' : ''}</a>${e.type === 'file' ? ` <small>${e.size} bytes</small>` : ''}</li>\n`);
    }
    pieces.push(`</ul>${nextUrl === undefined ? '' : `<p><a rel="next" href="${escapeHtml(nextUrl)}">next page</a></p>`}</body></html>\n`);
  }
  let chars = 0;
  for (const x of pieces) chars += x.length;
  if (chars <= PAGE_KEPT_MAX) {
    const kept: KeptPage = { body: Buffer.from(pieces.join(''), 'utf8'), link: nextUrl };
    if (kept.body.length <= PAGE_KEPT_MAX) {
      while (pages.size > 0 && (pages.size >= PAGES_KEPT || pagesBytes + kept.body.length > PAGES_KEPT_BYTES)) {
        const [oldest, p] = pages.entries().next().value!;
        pages.delete(oldest);
        pagesBytes -= p.body.length;
      }
      pages.set(id, kept);
      pagesBytes += kept.body.length;
    }
    return sendPage(res, head, wantJson, headers, kept);
  }
  if (nextUrl !== undefined) headers['Link'] = `<${nextUrl}>; rel="next"`;
  res.writeHead(200, { 'Content-Type': contentType(wantJson), ...headers });
  if (head) {
    res.end();
    return;
  }
  const sink = new TextSink(res);
  for (const x of pieces) if (!(await sink.push(x))) return;
  if (await sink.flush()) res.end();
}

interface KeptPage {
  body: Buffer;
  link: string | undefined;
}

/**
 * Rendered pages kept, least recently used dropped first: a 1000-entry listing reads every
 * entry's inode (~8 ms of CPU), and a root, hence its pages, never changes. Bounded in count and
 * bytes; a page is kept only up to PAGE_KEPT_MAX (larger ones are streamed each time).
 */
const PAGES_KEPT = 256;
const PAGES_KEPT_BYTES = 8 * 1024 * 1024;
const PAGE_KEPT_MAX = 512 * 1024;
const pages = new Map<string, KeptPage>();
let pagesBytes = 0;

const contentType = (json: boolean): string => (json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');

function sendPage(res: ServerResponse, head: boolean, json: boolean, headers: Record<string, string>, p: KeptPage): void {
  const h: Record<string, string> = { 'Content-Type': contentType(json), 'Content-Length': String(p.body.length), ...headers };
  if (p.link !== undefined) h['Link'] = `<${p.link}>; rel="next"`;
  res.writeHead(200, h);
  res.end(head ? undefined : p.body);
}
