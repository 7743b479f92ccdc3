// createHandler(repo) in-process: with node:http, and as Express-style middleware (next()).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../packages/kv/dist/node.js';
import { Repo } from '../packages/repo/dist/index.js';
import { createHandler } from '../packages/cli/dist/index.js';

let repo: Repo;
let server: Server;
let base: string;
let root: string;

beforeAll(async () => {
  repo = await Repo.open();
  await repo.init();
  const drive = await repo.drive('main');
  await drive.mkdir('/site/css', { recursive: true });
  await drive.writeFile('/site/index.html', '<p>hello</p>');
  await drive.writeFile('/site/css/a.css', 'p { color: red }');
  await drive.writeFile('/other.txt', 'x');
  await drive.commit('site');
  root = bytesToHex((await repo.resolve('main')).root);
  const handler = createHandler(repo);
  // Express-style: the handler passes on what it does not serve.
  server = createServer((req, res) => {
    handler(req, res, () => {
      res.writeHead(418, { 'Content-Type': 'text/plain' });
      res.end('next');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await repo.close();
});

describe('createHandler', () => {
  it('serves files, listings, 304 across commits that leave a file alone, and passes on other paths', async () => {
    const a = await fetch(`${base}/b/main/site/css/a.css`);
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toMatch(/^text\/css/);
    const etag = a.headers.get('etag')!;
    // Another commit that does not touch a.css: the ETag holds.
    const drive = await repo.drive('main');
    await drive.writeFile('/other.txt', 'y');
    await drive.commit('other');
    const again = await fetch(`${base}/b/main/site/css/a.css`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    const r = await fetch(`${base}/r/${root}/other.txt`);
    expect(await r.text()).toBe('x');
    expect((await fetch(`${base}/b/main/other.txt`).then((x) => x.text()))).toBe('y');
    const redirect = await fetch(`${base}/b/main/site`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('site/');
    const multi = await fetch(`${base}/b/main/site/index.html`, { headers: { Range: 'bytes=0-1,4-5' } });
    expect(multi.status).toBe(206);
    expect(multi.headers.get('content-type')).toMatch(/^multipart\/byteranges; boundary=/);
    const text = await multi.text();
    expect(text).toContain('Content-Range: bytes 0-1/12');
    expect(text).toContain('Content-Range: bytes 4-5/12');
    expect((await fetch(`${base}/elsewhere`)).status).toBe(418);
    expect((await fetch(`${base}/diff/main~1..nope`)).status).toBe(404);
    expect((await fetch(`${base}/diff/garbage`)).status).toBe(400);
  });

  it('pages large listings and diffs, following Link: rel="next" to the end', async () => {
    const drive = await repo.drive('main');
    const names = Array.from({ length: 2500 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    await drive.mkdir('/big');
    for (const n of names) await drive.writeFile(`/big/${n}`, n);
    await drive.commit('big');
    const seen: string[] = [];
    let url: string | undefined = `${base}/b/main/big/?limit=1000`;
    let pages = 0;
    while (url !== undefined) {
      const r = await fetch(url, { headers: { Accept: 'application/json' } });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { entries: { name: string; size: number }[]; next?: string };
      expect(body.entries.length).toBeLessThanOrEqual(1000);
      for (const e of body.entries) expect(e.size).toBe(e.name.length);
      seen.push(...body.entries.map((e) => e.name));
      const link = r.headers.get('link');
      expect(link === null).toBe(body.next === undefined);
      url = link === null ? undefined : new URL(/^<([^>]+)>/.exec(link)![1]!, url).toString();
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
    const html = await (await fetch(`${base}/b/main/big/?limit=2`)).text();
    expect(html).toContain('<a rel="next" href="?limit=2&#38;after=f00001">next page</a>');
    expect((await fetch(`${base}/b/main/big/?limit=0`)).status).toBe(400);
    expect((await fetch(`${base}/b/main/big/?limit=10001`)).status).toBe(400);

    const changes: string[] = [];
    let diffUrl: string | undefined = `${base}/diff/main~1..main?limit=700`;
    while (diffUrl !== undefined) {
      const r = await fetch(diffUrl);
      const body = (await r.json()) as { changes: { op: string; path: string }[]; next?: string };
      expect(body.changes.length).toBeLessThanOrEqual(700);
      changes.push(...body.changes.map((c) => `${c.op} ${c.path}`));
      const link = r.headers.get('link');
      diffUrl = link === null ? undefined : new URL(/^<([^>]+)>/.exec(link)![1]!, diffUrl).toString();
    }
    expect(changes).toEqual(['change /', 'add /big', ...names.map((n) => `add /big/${n}`)]);
  });
});

