// HTTP serving, read-only: createHandler(repo) for node:http or Express, and serve().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bytesToHex, sha256, type Hash } from '@cafs/kv';
import { infoKey, type FsChange } from '@cafs/fs';
import type { Repo } from '@cafs/repo';
import mime from 'mime-types';

export interface HandlerOptions {
  /** Only these branches may be served under /b/ (default: every branch). */
  branches?: string[] | undefined;
}

type Next = (err?: unknown) => void;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const encoder = new TextEncoder();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Splits and decodes a URL path; `..` segments may not climb above the root. */
function cleanPath(segments: string[]): string {
  const out: string[] = [];
  for (const raw of segments) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, 'bad percent-encoding in the path');
    }
    if (s.includes('\0') || s.includes('/')) throw new HttpError(400, 'bad path');
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length === 0) throw new HttpError(400, 'the path escapes the root');
      out.pop();
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}

function parseRange(header: string, size: number): { start: number; end: number }[] | 'unsatisfiable' | undefined {
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const ranges: { start: number; end: number }[] = [];
  for (const part of m[1]!.split(',')) {
    const r = /^\s*(\d*)-(\d*)\s*$/.exec(part);
    if (!r) return undefined;
    let start: number;
    let end: number;
    if (r[1] === '') {
      if (r[2] === '') return undefined;
      const n = Number(r[2]);
      start = Math.max(0, size - n);
      end = size - 1;
    } else {
      start = Number(r[1]);
      end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
    }
    if (start > end || start >= size) continue;
    ranges.push({ start, end });
  }
  return ranges.length === 0 ? 'unsatisfiable' : ranges;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * A request handler `(req, res, next?)`: without `next` it answers 404 for paths it does not
 * serve; with `next` (Express) it passes them on.
 */
export function createHandler(repo: Repo, options: HandlerOptions = {}): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
  /** A strong validator of a file's content and metadata: the hash of its keys' values. */
  const fileTag = async (root: Hash, path: string): Promise<string> => {
    const real = await realPath(root, path);
    const key = infoKey(real.split('/').filter(Boolean).map((n) => encoder.encode(n)));
    const lt = new Uint8Array(key.length + 1);
    lt.set(key);
    lt[key.length] = 1;
    const parts: Uint8Array[] = [];
    for await (const e of repo.fs.tree.entries(root, { gte: key, lt })) parts.push(e.key, e.value);
    let n = 0;
    for (const p of parts) n += p.length + 4;
    const buf = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      new DataView(buf.buffer).setUint32(at, p.length);
      buf.set(p, at + 4);
      at += p.length + 4;
    }
    return `"${bytesToHex(sha256(buf)).slice(0, 40)}"`;
  };

  /** Follows symbolic links the way the fs does, to name the file a key belongs to. */
  const realPath = async (root: Hash, path: string, depth = 0): Promise<string> => {
    if (depth > 40) throw new HttpError(404, 'too many symbolic links');
    const names = path.split('/').filter(Boolean);
    let cur = '';
    for (let i = 0; i < names.length; i++) {
      const next = cur + '/' + names[i];
      const st = await repo.fs.lstat(root, next);
      if (st.isSymbolicLink()) {
        const target = await repo.fs.readlink(root, next);
        const base = target.startsWith('/') ? target : cur + '/' + target;
        const rest = names.slice(i + 1).join('/');
        return realPath(root, cleanPath((base + (rest ? '/' + rest : '')).split('/')), depth + 1);
      }
      cur = next;
    }
    return cur || '/';
  };

  const send = (res: ServerResponse, status: number, type: string, body: string | Uint8Array, head: boolean, headers: Record<string, string> = {}): void => {
    const bytes = typeof body === 'string' ? encoder.encode(body) : body;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(bytes.length), ...headers });
    res.end(head ? undefined : bytes);
  };

  const fail = (res: ServerResponse, err: unknown, head: boolean): void => {
    const code = (err as { code?: string }).code;
    let status = 500;
    let message = 'internal error';
    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
    } else if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ERR_UNKNOWN_REF' || code === 'ELOOP') {
      status = 404;
      message = code === 'ERR_UNKNOWN_REF' ? (err as Error).message : 'not found';
    } else if (code === 'EINVAL' || code === 'ERR_NOT_A_COMMIT' || code === 'ENAMETOOLONG') {
      status = 400;
      message = (err as Error).message.split('\n')[0]!;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(res, status, 'text/plain; charset=utf-8', message + '\n', head);
  };

  const serveRoot = async (req: IncomingMessage, res: ServerResponse, root: Hash, path: string, base: string, immutable: boolean): Promise<void> => {
    const head = req.method === 'HEAD';
    const st = await repo.fs.stat(root, path);
    const cache = immutable ? IMMUTABLE : 'no-cache';
    if (st.isDirectory()) {
      const wantJson = /application\/json/.test(req.headers.accept ?? '');
      const urlPath = req.url!.split('?')[0]!;
      if (!urlPath.endsWith('/')) {
        // Relative, so it also works under a mount point (Express's app.use('/files', handler)).
        res.writeHead(301, { Location: urlPath.slice(urlPath.lastIndexOf('/') + 1) + '/' });
        res.end();
        return;
      }
      const entries: { name: string; type: string; size: number }[] = [];
      for (const e of await repo.fs.readdir(root, path, { withFileTypes: true })) {
        const p = path === '/' ? '/' + e.name : path + '/' + e.name;
        const l = await repo.fs.lstat(root, p);
        entries.push({ name: e.name, type: e.type, size: Number(l.size) });
      }
      const etag = `"${bytesToHex(sha256(encoder.encode(bytesToHex(root) + '\0' + path + '\0' + (wantJson ? 'json' : 'html')))).slice(0, 40)}"`;
      const headers = { ETag: etag, 'Cache-Control': cache, Vary: 'Accept' };
      if (etagMatches(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      if (wantJson) return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ path, entries }), head, headers);
      const rows = entries
        .map((e) => {
          const href = encodeURIComponent(e.name) + (e.type === 'directory' ? '/' : '');
          return `<li><a href="${escapeHtml(href)}">${escapeHtml(e.name)}${e.type === 'directory' ? '/' : ''}</a>${e.type === 'file' ? ` <small>${e.size} bytes</small>` : ''}</li>`;
        })
        .join('\n');
      const title = escapeHtml(base + path);
      const html = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><ul>\n${path === '/' ? '' : '<li><a href="../">../</a></li>\n'}${rows}\n</ul></body></html>\n`;
      return send(res, 200, 'text/html; charset=utf-8', html, head, headers);
    }
    const size = Number(st.size);
    const etag = await fileTag(root, path);
    const type = mime.contentType(path.split('/').pop()!) || 'application/octet-stream';
    const headers: Record<string, string> = { ETag: etag, 'Cache-Control': cache, 'Accept-Ranges': 'bytes', 'Last-Modified': st.mtime.toUTCString() };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    let start = 0;
    let end = size - 1;
    let status = 200;
    const rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (rangeHeader !== undefined && (ifRange === undefined || ifRange === etag)) {
      const ranges = parseRange(rangeHeader, size);
      if (ranges === 'unsatisfiable') {
        res.writeHead(416, { 'Content-Range': `bytes */${size}`, ...headers });
        res.end();
        return;
      }
      if (ranges !== undefined && ranges.length === 1) {
        start = ranges[0]!.start;
        end = ranges[0]!.end;
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      } else if (ranges !== undefined && ranges.length > 1) {
        // multipart/byteranges
        const boundary = 'cafs' + bytesToHex(sha256(encoder.encode(etag + rangeHeader))).slice(0, 24);
        const pieces: Uint8Array[] = [];
        for (const r of ranges) {
          pieces.push(encoder.encode(`\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`));
          pieces.push(await repo.fs.read(root, path, { offset: r.start, length: r.end - r.start + 1 }));
        }
        pieces.push(encoder.encode(`\r\n--${boundary}--\r\n`));
        return send(res, 206, `multipart/byteranges; boundary=${boundary}`, Buffer.concat(pieces), head, headers);
      }
    }
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Math.max(0, end - start + 1)), ...headers });
    if (head || size === 0) {
      res.end();
      return;
    }
    for await (const piece of repo.fs.stream(root, path, { start, end: end + 1 })) {
      if (res.destroyed) return;
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, next?: Next): Promise<void> => {
    const head = req.method === 'HEAD';
    try {
      const url = (req.url ?? '/').split('?')[0]!;
      const segs = url.split('/').slice(1);
      const kind = segs[0];
      if (kind !== 'r' && kind !== 'b' && kind !== 'diff') {
        if (next) return next();
        if (url === '/') return send(res, 200, 'text/plain; charset=utf-8', 'cafs: GET /r/<root>/<path>, /b/<branch>/<path>, /diff/<a>..<b>\n', head);
        throw new HttpError(404, 'not found');
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, 'read-only: only GET and HEAD');
      }
      if (kind === 'diff') {
        const spec = decodeURIComponent(segs.slice(1).join('/'));
        const m = /^(.+?)\.\.(.+)$/.exec(spec);
        if (!m) throw new HttpError(400, 'use /diff/<a>..<b>');
        const a = await repo.resolve(m[1]!);
        const b = await repo.resolve(m[2]!);
        const changes: unknown[] = [];
        for await (const c of repo.fs.diff(a.root, b.root, { renames: true }) as AsyncGenerator<FsChange>) {
          changes.push({ op: c.op, path: c.path, from: c.from, type: (c.right ?? c.left)!.type, size: c.right ? Number(c.right.size) : undefined });
        }
        const body = JSON.stringify({ a: bytesToHex(a.root), b: bytesToHex(b.root), changes });
        const etag = `"${bytesToHex(sha256(encoder.encode(bytesToHex(a.root) + '..' + bytesToHex(b.root)))).slice(0, 40)}"`;
        if (etagMatches(req.headers['if-none-match'], etag)) {
          res.writeHead(304, { ETag: etag });
          res.end();
          return;
        }
        return send(res, 200, 'application/json; charset=utf-8', body, head, { ETag: etag });
      }
      const name = segs[1];
      if (name === undefined || name === '') throw new HttpError(400, kind === 'r' ? 'use /r/<root>/<path>' : 'use /b/<branch>/<path>');
      const path = cleanPath(segs.slice(2));
      if (kind === 'r') {
        if (!/^[0-9a-f]{64}$/.test(name)) throw new HttpError(400, 'a root is 64 lowercase hex digits');
        const r = await repo.resolve(name);
        return await serveRoot(req, res, r.root, path, `/r/${name}`, true);
      }
      const branch = decodeURIComponent(name);
      if (options.branches !== undefined && !options.branches.includes(branch)) throw new HttpError(404, `no branch ${branch}`);
      let commit: Hash;
      try {
        commit = await repo.head(branch);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EINVAL') throw new HttpError(400, `bad branch name ${JSON.stringify(branch)}`);
        throw new HttpError(404, `no branch ${branch}`);
      }
      const root = (await repo.readCommit(commit)).root;
      return await serveRoot(req, res, root, path, `/b/${branch}`, false);
    } catch (err) {
      fail(res, err, head);
    }
  };

  return (req, res, next) => {
    void handle(req, res, next);
  };
}

/** Listens with createHandler; resolves once listening. */
export function serve(repo: Repo, options: HandlerOptions & { port?: number; host?: string } = {}): Promise<Server> {
  const server = createServer(createHandler(repo, options));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve(server));
  });
}
