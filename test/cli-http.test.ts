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
});
