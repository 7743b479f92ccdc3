// The sync protocol over a real loopback HTTP server: fetch proportional to the change, pushes
// with and without a token, racing pushes, lying clients and a corrupting server.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, type Hash } from '../packages/kv/dist/node.js';
import { HttpRemote, Repo, encodeFrames, fetchRemote, pushBranch } from '../packages/repo/dist/index.js';
import { serve, type CafsServer } from '../packages/cli/dist/index.js';

const TOKEN = 'sekrit-token-123';
let origin: Repo;
let server: CafsServer;
let url: string;

const content = (seed: number, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 + 3;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};

beforeAll(async () => {
  origin = new Repo();
  await origin.init();
  const drive = await origin.drive('main');
  for (let d = 0; d < 10; d++) {
    await drive.mkdir(`/d${d}`);
    for (let f = 0; f < 100; f++) await drive.writeFile(`/d${d}/f${f}`, content(d * 1000 + f, 2000 + f));
  }
  await drive.commit('1000 files');
  server = await serve(origin, { port: 0, push: { token: TOKEN } });
  url = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.shutdown(100);
  await origin.close();
});

async function readAll(repo: Repo, ref: string): Promise<Map<string, string>> {
  const { root } = await repo.resolve(ref);
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
      const p = (dir === '/' ? '' : dir) + '/' + e.name;
      if (e.type === 'directory') await walk(p);
      else out.set(p, bytesToHex(await repo.fs.readFile(root, p)));
    }
  };
  await walk('/');
  return out;
}

describe('sync over HTTP', () => {
  it('fetches a tree, then only a 10-file change in a few round trips', async () => {
    const local = new Repo();
    const remote = new HttpRemote(url);
    const first = await fetchRemote(local, remote, 'origin');
    expect(first.updated.map((u) => u.branch)).toEqual(['main']);
    expect(await readAll(local, 'origin/main')).toEqual(await readAll(origin, 'main'));
    const fullBytes = remote.bytesIn;

    const drive = await origin.drive('main');
    for (let i = 0; i < 10; i++) await drive.writeFile(`/d${i}/f${i * 9}`, content(777 + i, 2500));
    await drive.commit('ten');
    const r0 = remote.requests;
    const b0 = remote.bytesIn;
    const second = await fetchRemote(local, remote, 'origin');
    expect(second.updated.map((u) => bytesToHex(u.new))).toEqual([bytesToHex(await origin.head('main'))]);
    // refs, plan, one batch of blobs.
    expect(remote.requests - r0).toBeLessThanOrEqual(4);
    expect(remote.bytesIn - b0).toBeLessThan(fullBytes / 10);
    expect(second.report.blobs).toBeLessThan(60);
    expect(await readAll(local, 'origin/main')).toEqual(await readAll(origin, 'main'));
  });

  it('pushes only with the token, refuses non-fast-forwards and lets one of two racing pushes win', async () => {
    const a = new Repo();
    await fetchRemote(a, new HttpRemote(url), 'origin');
    await a.createBranch('main', 'origin/main');
    const da = await a.drive('main');
    await da.writeFile('/from-a.txt', 'a');
    await da.commit('a');
    await expect(pushBranch(a, new HttpRemote(url), 'origin', 'main')).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED' });
    await expect(pushBranch(a, new HttpRemote(url, { token: 'wrong' }), 'origin', 'main')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect(bytesToHex(await origin.head('main'))).not.toBe(bytesToHex(await a.head('main')));

    const b = new Repo();
    await fetchRemote(b, new HttpRemote(url), 'origin');
    await b.createBranch('main', 'origin/main');
    const db = await b.drive('main');
    await db.writeFile('/from-b.txt', 'b');
    await db.commit('b');

    const results = await Promise.allSettled([
      pushBranch(a, new HttpRemote(url, { token: TOKEN }), 'origin', 'main'),
      pushBranch(b, new HttpRemote(url, { token: TOKEN }), 'origin', 'main'),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(won.length).toBe(1);
    expect(lost.length).toBe(1);
    expect(['ERR_CONFLICT', 'ERR_NON_FAST_FORWARD']).toContain((lost[0]!.reason as { code: string }).code);
    const head = bytesToHex(await origin.head('main'));
    expect([bytesToHex(await a.head('main')), bytesToHex(await b.head('main'))]).toContain(head);

    // The loser pulls (fetch + merge) and pushes again: nothing is lost.
    const loser = results[0]!.status === 'rejected' ? a : b;
    await fetchRemote(loser, new HttpRemote(url), 'origin');
    await loser.merge('main', 'origin/main', { message: 'merge' });
    await pushBranch(loser, new HttpRemote(url, { token: TOKEN }), 'origin', 'main');
    const files = await readAll(origin, 'main');
    expect(files.has('/from-a.txt') && files.has('/from-b.txt')).toBe(true);
  });

  it('refuses lying pushes: bytes that do not match their hash, and a ref whose blobs were not sent', async () => {
    const post = (path: string, body: Uint8Array | string): Promise<{ status: number; text: string }> =>
      fetch(url + path, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const fake = new Uint8Array(32).fill(7);
    const bad = await post('/sync/put', encodeFrames([{ hash: fake, bytes: Uint8Array.of(1, 2, 3) }]));
    expect(bad.status).toBe(422);
    expect((await origin.store.has([fake]))[0]).toBe(false);
    // A commit made elsewhere, never sent.
    const other = new Repo();
    await other.init();
    const od = await other.drive('main');
    await od.writeFile('/x', 'never sent');
    await od.commit('x');
    const old = bytesToHex(await origin.head('main'));
    const orphan = await post('/sync/ref', JSON.stringify({ branch: 'main', old, new: bytesToHex(await other.head('main')), force: true }));
    expect(orphan.status).toBe(422);
    expect(bytesToHex(await origin.head('main'))).toBe(old);
    expect((await post('/sync/put', 'x'.repeat(100))).status).toBe(400);
  });

  it('detects a server that corrupts bytes (ERR_INTEGRITY) and stores nothing a ref reaches', async () => {
    // A proxy flipping one byte of every blob batch.
    const proxy: Server = createServer((req, res) => {
      const up = httpRequest(url + req.url!, { method: req.method, headers: req.headers }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const body = Buffer.concat(chunks);
          if (req.url === '/sync/blobs' && body.length > 40) body[body.length - 1]! ^= 0xff;
          res.writeHead(r.statusCode!, { 'Content-Type': r.headers['content-type'] ?? 'application/octet-stream' });
          res.end(body);
        });
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const local = new Repo();
    const err = await fetchRemote(local, new HttpRemote(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`), 'origin').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INTEGRITY' });
    expect(await local.names.get('refs/remotes/origin/main')).toBeUndefined();
    await new Promise((r) => proxy.close(r));
    // The honest server afterwards: a second run completes.
    await fetchRemote(local, new HttpRemote(url), 'origin');
    expect(await readAll(local, 'origin/main')).toEqual(await readAll(origin, 'main'));
  });

  it('answers GET /refs and GET /blob/<hash> cacheably', async () => {
    const refs = (await (await fetch(`${url}/refs`)).json()) as { branches: Record<string, string> };
    const head: Hash = await origin.head('main');
    expect(refs.branches['main']).toBe(bytesToHex(head));
    const r = await fetch(`${url}/blob/${bytesToHex(head)}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toMatch(/immutable/);
    expect(bytesToHex(new Uint8Array(await r.arrayBuffer()))).toBe(bytesToHex(await origin.store.get(head)));
    expect((await fetch(`${url}/blob/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${url}/blob/xyz`)).status).toBe(400);
  });
});
