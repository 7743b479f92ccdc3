// createHandler(repo): the read-only routes, for node:http or as Express middleware.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hash } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import { HttpError, statusOf } from './errors.js';
import { serveDiff } from './diff.js';
import { serveFile } from './file.js';
import { serveListing } from './listing.js';
import { serveSync, type PushOptions } from './sync-routes.js';
import { cleanPath } from './paths.js';
import { requestSignal, send } from './respond.js';

export interface HandlerOptions {
  /** Only these branches may be served under /b/ (default: every branch). */
  branches?: string[] | undefined;
  /** Aborts the responses in flight (a server shutting down). */
  signal?: AbortSignal | undefined;
  /** Requests announcing a larger body are refused with 413 (default 64 MiB). */
  maxBodyBytes?: number | undefined;
  /** Accept pushes (blobs and branch updates) from clients presenting this token. */
  push?: PushOptions | undefined;
}

type Next = (err?: unknown) => void;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const USAGE = 'cafs: GET /r/<root>/<path>, /b/<branch>/<path>, /diff/<a>..<b>, /refs, /blob/<hash>; POST /sync/{plan,blobs,has,put,ref}\n';

/**
 * A request handler `(req, res, next?)`: without `next` it answers 404 for paths it does not
 * serve; with `next` (Express) it passes them on.
 */
export function createHandler(repo: Repo, options: HandlerOptions = {}): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;

  const fail = (res: ServerResponse, err: unknown, head: boolean): void => {
    if (res.headersSent) {
      // Mid-body: the only honest signal left is a cut connection.
      res.destroy();
      return;
    }
    const { status, message, headers } = statusOf(err);
    send(res, status, 'text/plain; charset=utf-8', message + '\n', head, headers);
  };

  const serveRoot = async (req: IncomingMessage, res: ServerResponse, root: Hash, path: string, title: string, immutable: boolean, url: URL, signal: AbortSignal): Promise<void> => {
    const st = await repo.fs.stat(root, path);
    const cache = immutable ? IMMUTABLE : 'no-cache';
    // A file named as a directory (`/f/`) is not found, as a kernel says ENOTDIR for `cat f/`.
    if (!st.isDirectory() && url.pathname.endsWith('/')) throw new HttpError(404, 'not found (not a directory)');
    if (!st.isDirectory()) return serveFile({ req, res, fs: repo.fs, root, path, st, cache, signal });
    if (!url.pathname.endsWith('/')) {
      // Relative, so it also works under a mount point (Express's app.use('/files', handler)).
      res.writeHead(301, { Location: url.pathname.slice(url.pathname.lastIndexOf('/') + 1) + '/' + url.search, 'Content-Length': '0' });
      res.end();
      return;
    }
    return serveListing({ req, res, fs: repo.fs, root, path, title, cache, urlPath: url.pathname, query: url.searchParams });
  };

  const branchRoot = async (branch: string): Promise<Hash> => {
    if (options.branches !== undefined && !options.branches.includes(branch)) throw new HttpError(404, `no branch ${branch}`);
    let commit: Hash;
    try {
      commit = await repo.head(branch);
    } catch (err) {
      if ((err as { code?: string }).code === 'EINVAL') throw new HttpError(400, `bad branch name ${JSON.stringify(branch)}`);
      throw new HttpError(404, `no branch ${branch}`);
    }
    return rootOf(commit);
  };
  // Commits never change: their roots are kept (a branch request then costs one name lookup).
  const roots = new Map<string, Hash>();
  const rootOf = async (commit: Hash): Promise<Hash> => {
    const id = Buffer.from(commit).toString('hex');
    const hit = roots.get(id);
    if (hit !== undefined) return hit;
    const root = (await repo.readCommit(commit)).root;
    if (roots.size >= 256) roots.delete(roots.keys().next().value!);
    roots.set(id, root);
    return root;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, next?: Next): Promise<void> => {
    const head = req.method === 'HEAD';
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://cafs.invalid');
      } catch {
        throw new HttpError(400, 'bad URL');
      }
      // The raw path: segments are decoded one by one (an encoded "/" stays inside its name).
      const rawPath = (req.url ?? '/').split('?')[0]!;
      const segs = rawPath.split('/').slice(1);
      const kind = segs[0];
      if (kind === 'refs' || kind === 'blob' || kind === 'sync') {
        if (await serveSync(req, res, repo, segs, { push: options.push, maxBodyBytes: maxBody, branches: options.branches })) return;
      }
      if (kind !== 'r' && kind !== 'b' && kind !== 'diff') {
        if (next) return next();
        if (rawPath === '/') return send(res, 200, 'text/plain; charset=utf-8', USAGE, head);
        throw new HttpError(404, 'not found');
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'read-only: only GET and HEAD', { Allow: 'GET, HEAD' });
      const declared = Number(req.headers['content-length'] ?? 0);
      if (!(declared <= maxBody)) throw new HttpError(413, `request bodies are limited to ${maxBody} bytes`, { Connection: 'close' });
      const signal = requestSignal(res, options.signal);
      if (kind === 'diff') {
        let spec: string;
        try {
          spec = decodeURIComponent(segs.slice(1).join('/'));
        } catch {
          throw new HttpError(400, 'bad percent-encoding in the path');
        }
        return await serveDiff(req, res, repo, spec, url.pathname, url.searchParams);
      }
      const name = segs[1];
      if (name === undefined || name === '') throw new HttpError(400, kind === 'r' ? 'use /r/<root>/<path>' : 'use /b/<branch>/<path>');
      const path = cleanPath(segs.slice(2));
      if (kind === 'r') {
        if (!/^[0-9a-f]{64}$/.test(name)) throw new HttpError(400, 'a root is 64 lowercase hex digits');
        const r = await repo.resolve(name);
        return await serveRoot(req, res, r.root, path, `/r/${name}${path}`, true, url, signal);
      }
      let branch: string;
      try {
        branch = decodeURIComponent(name);
      } catch {
        throw new HttpError(400, 'bad percent-encoding in the path');
      }
      return await serveRoot(req, res, await branchRoot(branch), path, `/b/${branch}${path}`, false, url, signal);
    } catch (err) {
      fail(res, err, head);
    }
  };

  return (req, res, next) => {
    void handle(req, res, next);
  };
}
