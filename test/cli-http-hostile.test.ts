// `cafs serve` under hostile load, as a separate process the way users start it: range abuse,
// a client that never reads, slow-header clients, SIGTERM mid-download.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repo } from '../packages/repo/dist/index.js';

const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

let work: string;
let server: ChildProcess;
let port: number;
let file1m: Uint8Array;

/** Starts `cafs serve` with extra flags; resolves once it prints its URL. */
async function startServe(repoDir: string, ...flags: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--repo', repoDir, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const p = await new Promise<number>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (c) => rej(new Error(`serve exited ${c}: ${err}`)));
  });
  return { child, port: p };
}

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** A raw HTTP/1.1 exchange: the status line, headers, and how many body bytes arrived. */
function rawGet(p: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: string; bodyBytes: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect(p, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end).toString('latin1');
      resolve({ status: Number(head.split(' ')[1]), headers: head, bodyBytes: all.length - end - 4, body: all.subarray(end + 4) });
    });
    const lines = Object.entries({ Host: 'x', Connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    s.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-hostile-'));
  const repoDir = join(work, 'repo');
  const repo = await Repo.open({ path: repoDir });
  await repo.init();
  const drive = await repo.drive('main');
  file1m = new Uint8Array(MiB - 48576);
  for (let i = 0; i < file1m.length; i++) file1m[i] = (i * 7 + (i >> 10)) & 0xff;
  await drive.writeFile('/f.bin', file1m);
  // A 1 GiB file that costs nothing to store: one hole, streamed as zeros.
  await drive.writeFile('/huge.bin', '');
  await drive.truncate('/huge.bin', GiB);
  await drive.commit('data');
  await repo.close();
  ({ child: server, port } = await startServe(repoDir, '--headers-timeout', '2', '--idle-timeout', '3'));
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('cafs serve under hostile load', () => {
  it('answers range abuse with at most the file and its framing', async () => {
    const size = file1m.length;
    const cases: [string, number, number][] = [
      // header, expected status, most body bytes allowed
      ['bytes=' + Array(1500).fill('0-999999').join(','), 200, size],
      ['bytes=' + Array(1000).fill('0-0').join(','), 200, size],
      ['bytes=0-10,5-20', 206, 21],
      ['bytes=-5', 206, 5],
      ['bytes=-0', 416, 0],
      ['bytes=0-99999999999999999999', 206, size],
      ['bytes=99999999999999999999-', 416, 0],
      ['bytes=zzz', 200, size],
      ['bytes=0-0,100-199,5000-5999', 206, 1101 + 1024],
    ];
    for (const [range, status, most] of cases) {
      const r = await rawGet(port, '/b/main/f.bin', { Range: range });
      expect([range.slice(0, 40), r.status]).toEqual([range.slice(0, 40), status]);
      expect(r.bodyBytes).toBeLessThanOrEqual(most);
      const length = /content-length: (\d+)/i.exec(r.headers);
      expect(Number(length![1])).toBe(r.bodyBytes);
      if (status === 200) expect(Buffer.compare(r.body, Buffer.from(file1m))).toBe(0);
    }
    const suffix = await rawGet(port, '/b/main/f.bin', { Range: 'bytes=-5' });
    expect([...suffix.body]).toEqual([...file1m.subarray(file1m.length - 5)]);
    const multi = await rawGet(port, '/b/main/f.bin', { Range: 'bytes=0-0,100-199,5000-5999' });
    expect(multi.headers).toMatch(/multipart\/byteranges/);
    expect(multi.body.toString('latin1')).toContain(`Content-Range: bytes 5000-5999/${size}`);
  });

  it('answers a path 3,000 levels deep with 414 and a short message, a file with a trailing slash with 404', async () => {
    const deep = await rawGet(port, '/b/main/' + 'a/'.repeat(3000) + 'f', {});
    expect(deep.status).toBe(414);
    expect(deep.bodyBytes).toBeLessThan(200);
    expect(deep.body.toString()).not.toContain('a/a/a');
    const slash = await rawGet(port, '/b/main/f.bin/', {});
    expect(slash.status).toBe(404);
    expect(slash.bodyBytes).toBeLessThan(200);
    expect((await rawGet(port, '/b/main/f.bin', {})).status).toBe(200);
  });

  it('does not grow while a client never reads a 1 GiB response, and cuts that client off', async () => {
    const before = rssOf(server.pid!);
    const s: Socket = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.pause();
    s.write('GET /b/main/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    let peak = before;
    // Longer than the buffers take to fill plus the idle timeout (3 s here).
    for (let i = 0; i < 36; i++) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, rssOf(server.pid!));
    }
    // Everything the client did not read waits in socket buffers, not in the server's heap.
    expect(peak - before).toBeLessThan(64 * MiB);
    // The idle timeout ended the stalled response: far fewer than 1 GiB arrive.
    let received = 0;
    s.on('data', (d: Buffer) => (received += d.length));
    s.resume();
    await new Promise((r) => s.once('close', r));
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(GiB);
    // And the server still serves.
    expect((await rawGet(port, '/b/main/f.bin', { Range: 'bytes=0-3' })).status).toBe(206);
  });

  it('cuts off 200 clients that send one header byte a second, serving others meanwhile', async () => {
    const slow: Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 200; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('data', () => {});
      s.on('close', () => closedByServer++);
      slow.push(s);
    }
    const header = 'GET /b/main/f.bin HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
    let at = 0;
    const drip = setInterval(() => {
      const c = header[at++ % header.length]!;
      for (const s of slow) if (!s.destroyed) s.write(c);
    }, 1000);
    try {
      await new Promise((r) => setTimeout(r, 1200));
      // Meanwhile a well-behaved client is served.
      const good = await rawGet(port, '/b/main/f.bin', { Range: 'bytes=0-9' });
      expect(good.status).toBe(206);
      expect(good.bodyBytes).toBe(10);
      // The header deadline (2 s here) closes every slow connection.
      for (let i = 0; i < 60 && closedByServer < 200; i++) await new Promise((r) => setTimeout(r, 250));
      expect(closedByServer).toBe(200);
    } finally {
      clearInterval(drip);
      for (const s of slow) s.destroy();
    }
  });

  it('exits 0 soon after SIGTERM during a large download', async () => {
    const repoDir = join(work, 'repo');
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    const { child, port: p } = await startServe(repoDir);
    const s = connect(p, '127.0.0.1');
    let received = 0;
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', () => {});
    s.write('GET /b/main/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    while (received < 4 * MiB) await new Promise((r) => setTimeout(r, 20));
    // A slow reader: the response can not finish before the shutdown deadline.
    s.pause();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    // Not a timing assertion: the test's own timeout is the bound; a hang fails it.
    expect(await exited).toBe(0);
    s.destroy();
    expect(received).toBeLessThan(GiB);
    // The repository was released: another process can open it.
    const repo = await Repo.open({ path: repoDir });
    expect((await repo.branches()).map((b) => b.name)).toContain('main');
    await repo.close();
  }, 30_000);
});
