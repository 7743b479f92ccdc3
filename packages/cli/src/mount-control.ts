// How `cafs commit --mount DIR` reaches the `cafs mount` process serving DIR: a Unix socket
// (mode 0600) named after the mountpoint's real path, one JSON line each way.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bytesToHex } from '@cafs/kv';
import type { CafsMount } from '@cafs/fuse';
import { CliError } from './errors.js';

interface Request {
  commit?: { message?: string | undefined } | undefined;
  push?: { force?: boolean | undefined } | undefined;
}
type Reply = { ok: true; commit?: string | undefined; detail?: string | undefined } | { ok: false; error: string };

export interface ControlHandlers {
  /** Pushes the mount's branch (only a mount of a remote branch has one); says what it did. */
  push?: ((force: boolean) => Promise<{ commit: string; detail: string }>) | undefined;
}

/** The socket of the mount at `mountpoint` (its real path while mounted, else as given). */
export function controlSocket(mountpoint: string): string {
  let dir = resolve(mountpoint);
  try {
    dir = realpathSync(dir);
  } catch {
    // Not there (yet): the name as given.
  }
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 24);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `cafs-${uid}`, `mount-${id}.sock`);
}

/**
 * Answers control requests for `m` on `path` (from controlSocket, computed before mounting:
 * the serving process must not stat its own mount synchronously) until the server is closed.
 */
export async function serveControl(m: CafsMount, path: string, handlers: ControlHandlers = {}): Promise<Server> {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 64 * 1024) sock.destroy();
        return;
      }
      const reply = (r: Reply): void => void sock.end(JSON.stringify(r) + '\n');
      let req: Request;
      try {
        req = JSON.parse(buf.slice(0, nl)) as Request;
      } catch {
        return reply({ ok: false, error: 'malformed request' });
      }
      const fail = (err: unknown): void => reply({ ok: false, error: err instanceof Error ? err.message : String(err) });
      if (typeof req?.push === 'object' && req.push !== null) {
        if (handlers.push === undefined) return reply({ ok: false, error: 'this mount has no remote to push to (push a local branch with `cafs push`)' });
        return void handlers.push(req.push.force === true).then((r) => reply({ ok: true, commit: r.commit, detail: r.detail }), fail);
      }
      if (typeof req?.commit !== 'object' || req.commit === null) return reply({ ok: false, error: 'unknown request' });
      m.commit(typeof req.commit.message === 'string' ? req.commit.message : undefined).then(
        (head) => reply({ ok: true, commit: head === undefined ? undefined : bytesToHex(head) }),
        (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => done());
  });
  server.on('close', () => rmSync(path, { force: true }));
  return server;
}

/** Asks the mount at `mountpoint` to commit; resolves to the branch's head. */
export async function requestCommit(mountpoint: string, message: string | undefined): Promise<string | undefined> {
  return (await request(mountpoint, { commit: { message } }, 'commit')).commit;
}

/** Asks the mount of a remote branch at `mountpoint` to commit and push. */
export async function requestPush(mountpoint: string, force: boolean): Promise<{ commit?: string | undefined; detail?: string | undefined }> {
  return request(mountpoint, { push: { force } }, 'push');
}

function request(mountpoint: string, req: Request, what: string): Promise<Extract<Reply, { ok: true }>> {
  const path = controlSocket(mountpoint);
  return new Promise((done, fail) => {
    const sock = createConnection(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => (buf += c));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') fail(new CliError(`no cafs branch mount at ${mountpoint} (is \`cafs mount BRANCH ${mountpoint}\` running?)`));
      else fail(err);
    });
    sock.on('end', () => {
      try {
        const r = JSON.parse(buf) as Reply;
        if (r.ok) done(r);
        else fail(new CliError(`${what} at ${mountpoint}: ${r.error}`));
      } catch {
        fail(new CliError(`${what} at ${mountpoint}: no answer from the mount`));
      }
    });
  });
}
