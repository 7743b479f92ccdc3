// End-to-end: the built `cafs` binary on a temporary repository, as a user runs it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, lstatSync, readlinkSync, rmSync, writeFileSync, appendFileSync, unlinkSync, symlinkSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cafs } from './run-cafs.js';

const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const run = promisify(execFile);

async function ok(cwd: string, ...args: string[]): Promise<string> {
  const r = await cafs(cwd, ...args);
  if (r.code !== 0) throw new Error(`cafs ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** path -> kind and content (files), target (links), for comparing trees. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const a = join(abs, name);
      const r = rel + '/' + name;
      const st = lstatSync(a);
      if (st.isSymbolicLink()) out.set(r, 'link:' + readlinkSync(a));
      else if (st.isDirectory()) {
        out.set(r, 'dir:' + (st.mode & 0o777).toString(8));
        visit(a, r);
      } else out.set(r, `file:${(st.mode & 0o777).toString(8)}:${Math.floor(st.mtimeMs)}:` + readFileSync(a).toString('base64'));
    }
  };
  visit(dir, '');
  return out;
}

let work: string;
let src: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cafs-cli-'));
  src = join(work, 'src');
  cpSync(resolve(__dirname, '../packages/kv/src'), src, { recursive: true, preserveTimestamps: true });
  symlinkSync('index.ts', join(src, 'entry.ts'));
  chmodSync(join(src, 'demo.ts'), 0o755);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('cafs CLI', () => {
  it('init, import, export round trip, change, diff, log, ls, cat, stat', async () => {
    await ok(work, 'init');
    expect((await cafs(work, 'init')).code).not.toBe(0);
    const first = JSON.parse(await ok(work, 'import', 'src', '-m', 'first', '--json'));
    expect(first.files).toBeGreaterThan(10);
    expect(first.symlinks).toBe(1);
    // Found by walking up from a subdirectory.
    const sub = join(work, 'src', 'tree');
    expect(await ok(sub, 'log', '--oneline')).toMatch(/first/);

    const out1 = join(work, 'out1');
    await ok(work, 'export', 'main', out1);
    expect(snapshot(out1)).toEqual(snapshot(src));
    // Same content again: nothing to refuse.
    await ok(work, 'export', 'main', out1);

    // Re-importing the same tree gives the same root.
    const again = JSON.parse(await ok(work, 'import', 'src', '-m', 'same', '--json'));
    expect(again.root).toBe(first.root);
    expect(again.changed).toBe(false);

    appendFileSync(join(src, 'index.ts'), '// changed\n');
    unlinkSync(join(src, 'bytes.ts'));
    mkdirSync(join(src, 'new'));
    writeFileSync(join(src, 'new', 'file.txt'), 'hello\n');
    const second = JSON.parse(await ok(work, 'import', 'src', '-m', 'second', '--json'));
    expect(second.root).not.toBe(first.root);

    const ns = await ok(work, 'diff', 'main~1', 'main', '--name-status');
    expect(ns).toContain('M\t/index.ts');
    expect(ns).toContain('D\t/bytes.ts');
    expect(ns).toContain('A\t/new/file.txt');
    const dj = JSON.parse(await ok(work, 'diff', 'main~1', 'main', '--json'));
    expect(dj.find((c: { path: string }) => c.path === '/index.ts').op).toBe('change');
    expect(await ok(work, 'diff', 'main~1', 'main', '--stat')).toMatch(/1 removed/);
    expect(await ok(work, 'diff', 'main~1', 'main', '/new', '--name-status')).not.toContain('bytes.ts');

    const log = JSON.parse(await ok(work, 'log', '--json'));
    expect(log.map((c: { message: string }) => c.message)).toEqual(['second', 'first', 'init']);

    expect(await ok(work, 'ls', 'main')).toContain('new/');
    expect(await ok(work, 'ls', '-l', 'main')).toMatch(/lrwxrwxrwx .* entry\.ts -> index\.ts/);
    expect(await ok(work, 'ls', '-R', 'main')).toContain('/new/file.txt');
    expect(await ok(work, 'cat', 'main:/new/file.txt')).toBe('hello\n');
    expect(await ok(work, 'cat', 'main~1:/bytes.ts')).toBe(readFileSync(join(out1, 'bytes.ts'), 'utf8'));
    const st = JSON.parse(await ok(work, 'stat', 'main:/demo.ts', '--json'));
    expect(st.mode).toBe('0755');

    // Plain export refuses to clobber a differing file.
    const r = await cafs(work, 'export', 'main', out1);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^cafs: refusing to overwrite .*index\.ts/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await ok(work, 'export', '--force', 'main', out1);
    expect(readFileSync(join(out1, 'index.ts'), 'utf8')).toContain('// changed');
    const out2 = join(work, 'out2');
    await ok(work, 'export', 'main', out2);
    expect(snapshot(out2)).toEqual(snapshot(src));
  });

  it('branch, tag, merge, gc, fsck', async () => {
    await ok(work, 'branch', 'feature', 'main');
    expect(await ok(work, 'branch')).toMatch(/^feature\t[0-9a-f]{12}\nmain\t/);
    // A change on the feature branch, another on main: a three-way merge.
    const fsrc = join(work, 'fsrc');
    await ok(work, 'export', 'feature', fsrc);
    writeFileSync(join(fsrc, 'feature.txt'), 'from feature\n');
    await ok(work, 'import', fsrc, '--branch', 'feature', '-m', 'feature work');
    writeFileSync(join(src, 'main.txt'), 'from main\n');
    await ok(work, 'import', 'src', '-m', 'main work');
    const m = JSON.parse(await ok(work, 'merge', 'feature', '--json'));
    expect(m.conflicts).toEqual([]);
    expect(await ok(work, 'cat', 'main:/feature.txt')).toBe('from feature\n');
    expect(await ok(work, 'cat', 'main:/main.txt')).toBe('from main\n');
    expect((await ok(work, 'log', '-n', '1')).split('\n')[1]).toMatch(/^Merge: /);

    await ok(work, 'tag', 'v1', 'main');
    expect(await ok(work, 'tag')).toMatch(/^v1\t/);
    expect(await ok(work, 'cat', 'v1:/main.txt')).toBe('from main\n');
    await ok(work, 'branch', '-d', 'feature');
    expect(await ok(work, 'branch', '--json')).not.toContain('feature');
    const bad = await cafs(work, 'branch', '-d', 'feature');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toBe('cafs: no branch feature\n');

    const gc = JSON.parse(await ok(work, 'gc', '--json'));
    expect(gc.blobsDeleted).toBeGreaterThanOrEqual(0);
    const f = JSON.parse(await ok(work, 'fsck', '--json'));
    expect(f.ok).toBe(true);
    expect(f.commits).toBeGreaterThan(3);
  });

  it('one-line errors, no stack traces, --help with an example everywhere', async () => {
    for (const args of [['cat', 'main:/nope'], ['log', 'nope'], ['ls', 'main~99'], ['diff', 'main', 'zzz'], ['import', 'no-such-dir'], ['tag', 'bad name']]) {
      const r = await cafs(work, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/^cafs: [^\n]+\n$/);
    }
    const outside = mkdtempSync(join(tmpdir(), 'cafs-none-'));
    const r = await cafs(outside, 'log');
    expect(r.stderr).toMatch(/^cafs: not a cafs repository/);
    rmSync(outside, { recursive: true });
    const commands = ['init', 'import', 'export', 'ls', 'cat', 'stat', 'diff', 'log', 'branch', 'tag', 'merge', 'gc', 'fsck', 'serve', 'watch', 'mount'];
    for (let i = 0; i < commands.length; i += 4) {
      await Promise.all(
        commands.slice(i, i + 4).map(async (c) => {
          const h = await cafs(work, c, '--help');
          expect(h.code, c).toBe(0);
          expect(h.stdout, c).toMatch(/Example:\n  cafs /);
        }),
      );
    }
  });
});

describe('cafs fsck', () => {
  it('reports a missing blob and fails', async () => {
    const repoDir = join(work, 'damaged');
    mkdirSync(join(repoDir, 'tree'), { recursive: true });
    writeFileSync(join(repoDir, 'tree', 'big.bin'), Buffer.alloc(200_000, 7));
    await ok(repoDir, 'init');
    await ok(repoDir, 'import', 'tree');
    expect(JSON.parse(await ok(repoDir, 'fsck', '--json')).ok).toBe(true);
    const { LevelBlobStore, bytesToHex } = await import('../packages/kv/dist/node.js');
    const store = await LevelBlobStore.open(join(repoDir, '.cafs'));
    // The data chunks of big.bin are the blobs larger than 64 KiB.
    let victim: Uint8Array | undefined;
    for await (const h of store.hashes()) if ((await store.get(h)).length > 65536) victim = h;
    expect(victim).toBeDefined();
    await store.delete([victim!]);
    await store.close();
    const r = await cafs(repoDir, 'fsck');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`missing ${bytesToHex(victim!)}`);
    expect(r.stderr).toMatch(/^cafs: fsck: 1 missing, 0 corrupt blobs\n$/);
  });
});

describe('export --atomic', () => {
  it('swaps versions so a reader never sees a mix, rewrites only what differs', async () => {
    const repoDir = join(work, 'atomic');
    mkdirSync(repoDir);
    await ok(repoDir, 'init');
    const tree = join(repoDir, 'tree');
    const N = 20;
    const write = (v: number): void => {
      mkdirSync(join(tree, 'd'), { recursive: true });
      for (let i = 0; i < N; i++) writeFileSync(join(tree, i % 2 ? 'd' : '', `f${i}.txt`), `version ${v} file ${i}\n`.repeat(200));
      if (v === 1) writeFileSync(join(tree, 'constant.txt'), 'never changes\n');
    };
    write(1);
    await ok(repoDir, 'import', 'tree', '-m', 'v1');
    write(2);
    await ok(repoDir, 'import', 'tree', '-m', 'v2');
    const target = join(repoDir, 'live');
    const first = JSON.parse(await ok(repoDir, 'export', '--atomic', 'main~1', target, '--json'));
    expect(first.changed).toBe(true);
    expect(readlinkSync(join(target, 'f0.txt'))).toBe('..data/f0.txt');
    const inodeBefore = lstatSync(join(target, '..data', 'constant.txt')).ino;

    // A reader: through one resolution of ..data every file is of one version.
    let stop = false;
    const seen = new Set<number>();
    const problems: string[] = [];
    const versionOf = (text: string): number => Number(/^version (\d+)/.exec(text)?.[1] ?? NaN);
    const reader = (async () => {
      while (!stop) {
        // Through the links every single read is a whole file of some version, never missing.
        try {
          const f0 = readFileSync(join(target, 'f0.txt'), 'utf8');
          const v = versionOf(f0);
          seen.add(v);
          if (f0 !== `version ${v} file 0\n`.repeat(200)) problems.push('torn f0');
        } catch (err) {
          problems.push(String(err));
        }
        // Through one resolution of ..data, every file is of the same version. (The version
        // directory may be removed under a slow reader once the switch is made: then start over.)
        const version = readlinkSync(join(target, '..data'));
        const versions = new Set<number>();
        let gone = false;
        for (let i = 0; i < N && !gone; i++) {
          try {
            const text = readFileSync(join(target, version, i % 2 ? 'd' : '', `f${i}.txt`), 'utf8');
            const w = versionOf(text);
            if (text !== `version ${w} file ${i}\n`.repeat(200)) problems.push(`torn f${i}`);
            versions.add(w);
          } catch {
            gone = true;
          }
        }
        if (!gone && versions.size !== 1) problems.push(`mix of versions ${[...versions].join(',')}`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let k = 0; k < 3; k++) {
      const a = JSON.parse(await ok(repoDir, 'export', '--atomic', 'main', target, '--json'));
      expect(a.changed).toBe(true);
      expect(a.incremental).toBe(true);
      expect(a.modified).toBeGreaterThanOrEqual(N);
      const b = JSON.parse(await ok(repoDir, 'export', '--atomic', 'main~1', target, '--json'));
      expect(b.changed).toBe(true);
    }
    stop = true;
    await reader;
    expect(problems).toEqual([]);
    expect(seen.has(1)).toBe(true);

    // Same root again: nothing changes; unchanged files were never rewritten (hard links).
    const same = JSON.parse(await ok(repoDir, 'export', '--atomic', 'main~1', target, '--json'));
    expect(same.changed).toBe(false);
    expect(lstatSync(join(target, '..data', 'constant.txt')).ino).toBe(inodeBefore);
    // One version directory left, and the visible tree equals the source of v1.
    expect(readdirSync(target).filter((n) => n.startsWith('..') && n !== '..data')).toHaveLength(1);
    expect(readFileSync(join(target, 'd', 'f1.txt'), 'utf8')).toBe('version 1 file 1\n'.repeat(200));
    // A subtree (REF:PATH) projects the same way; the same subtree again changes nothing.
    const subTarget = join(repoDir, 'live-d');
    expect(JSON.parse(await ok(repoDir, 'export', '--atomic', 'main:/d', subTarget, '--json')).changed).toBe(true);
    expect(JSON.parse(await ok(repoDir, 'export', '--atomic', 'main:/d', subTarget, '--json')).changed).toBe(false);
    expect(readFileSync(join(subTarget, 'f1.txt'), 'utf8')).toBe('version 2 file 1\n'.repeat(200));
    // Unknown files in the target are refused; reserved names in the tree are refused.
    writeFileSync(join(target, 'stranger'), 'x');
    const r = await cafs(repoDir, 'export', '--atomic', 'main', target);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refusing to replace .*stranger/);
    writeFileSync(join(tree, '..evil'), 'x');
    await ok(repoDir, 'import', 'tree', '-m', 'evil');
    const e = await cafs(repoDir, 'export', '--atomic', '--force', 'main', target);
    expect(e.stderr).toMatch(/reserved/);
  });
});

describe('cafs serve', () => {
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('serves roots and branches with ETags, 304, Range, HEAD, listings, diff', async () => {
    const repoDir = join(work, 'http');
    mkdirSync(repoDir);
    await ok(repoDir, 'init');
    const tree = join(repoDir, 'tree');
    mkdirSync(join(tree, 'img'), { recursive: true });
    writeFileSync(join(tree, 'index.html'), '<h1>hi</h1>\n');
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    writeFileSync(join(tree, 'img', 'data.png'), big);
    const imp = JSON.parse(await ok(repoDir, 'import', 'tree', '--json'));
    const root: string = imp.root;

    server = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const base = await new Promise<string>((res, rej) => {
      let buf = '';
      server!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /serving on (http:\/\/\S+)/.exec(buf);
        if (m) res(m[1]!.replace(/\/$/, ''));
      });
      server!.once('exit', (c) => rej(new Error(`serve exited ${c}`)));
    });

    const r1 = await fetch(`${base}/r/${root}/index.html`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r1.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = r1.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect(await r1.text()).toBe('<h1>hi</h1>\n');

    const b1 = await fetch(`${base}/b/main/index.html`);
    expect(b1.headers.get('etag')).toBe(etag);
    const b2 = await fetch(`${base}/b/main/index.html`, { headers: { 'If-None-Match': etag } });
    expect(b2.status).toBe(304);

    const rg = await fetch(`${base}/b/main/img/data.png`, { headers: { Range: 'bytes=1000-1999' } });
    expect(rg.status).toBe(206);
    expect(rg.headers.get('content-range')).toBe(`bytes 1000-1999/${big.length}`);
    expect(Buffer.from(await rg.arrayBuffer())).toEqual(big.subarray(1000, 2000));
    const full = await fetch(`${base}/b/main/img/data.png`);
    expect(full.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await full.arrayBuffer())).toEqual(big);
    const head = await fetch(`${base}/b/main/img/data.png`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(big.length));
    const tail = await fetch(`${base}/b/main/img/data.png`, { headers: { Range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(big.subarray(big.length - 10));
    expect((await fetch(`${base}/b/main/img/data.png`, { headers: { Range: 'bytes=999999-' } })).status).toBe(416);

    const listing = await fetch(`${base}/b/main/`, { headers: { Accept: 'application/json' } });
    expect((await listing.json()).entries.map((e: { name: string }) => e.name)).toEqual(['img', 'index.html']);
    const html = await fetch(`${base}/b/main/img/`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('href="data.png"');

    const diff = await fetch(`${base}/diff/main~1..main`);
    expect((await diff.json()).changes.some((c: { path: string; op: string }) => c.path === '/index.html' && c.op === 'add')).toBe(true);

    expect((await fetch(`${base}/b/nope/x`)).status).toBe(404);
    expect((await fetch(`${base}/r/xyz/x`)).status).toBe(400);
    expect((await fetch(`${base}/r/${'0'.repeat(64)}/x`)).status).toBe(404);
    expect((await fetch(`${base}/b/main/missing.txt`)).status).toBe(404);
    // Raw `..` segments (a client that does not normalise them) cannot climb out.
    const raw = await new Promise<number>((res, rej) => {
      const u = new URL(base);
      get({ host: u.hostname, port: u.port, path: '/b/main/../../../etc/passwd' }, (r) => {
        r.resume();
        res(r.statusCode!);
      }).on('error', rej);
    });
    expect(raw).toBe(400);
    expect((await fetch(`${base}/b/main/index.html`, { method: 'PUT', body: 'x' })).status).toBe(405);

    // --memory: a RAM-only repository, loaded from a directory, while the one on disk is busy.
    const mem = spawn(process.execPath, [BIN, '--memory', 'serve', '--import', 'tree', '--port', '0'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const memBase = await new Promise<string>((res, rej) => {
        let buf = '';
        mem.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /serving on (http:\/\/\S+)/.exec(buf);
          if (m) res(m[1]!.replace(/\/$/, ''));
        });
        mem.once('exit', (c) => rej(new Error(`serve --memory exited ${c}`)));
      });
      const page = await fetch(`${memBase}/b/main/index.html`);
      expect(await page.text()).toBe('<h1>hi</h1>\n');
      expect(page.headers.get('etag')).toBe(etag);
    } finally {
      mem.kill('SIGTERM');
    }
  });
});

describe('cafs watch', () => {
  it('imports, then commits a snapshot when the directory changes', async () => {
    const repoDir = join(work, 'watch');
    mkdirSync(join(repoDir, 'notes'), { recursive: true });
    writeFileSync(join(repoDir, 'notes', 'a.txt'), 'a\n');
    await ok(repoDir, 'init');
    const child = spawn(process.execPath, [BIN, 'watch', 'notes', '--debounce', '100'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
    });
    let buf = '';
    const waitFor = (re: RegExp): Promise<void> =>
      new Promise((res, rej) => {
        const check = (): void => {
          if (re.test(buf)) res();
        };
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          check();
        });
        child.once('exit', (c) => rej(new Error(`watch exited ${c}: ${buf}`)));
        setTimeout(() => rej(new Error(`no ${re} in: ${buf}`)), 15_000);
        check();
      });
    await waitFor(/watching notes/);
    writeFileSync(join(repoDir, 'notes', 'b.txt'), 'b\n');
    await waitFor(/snapshot \(2 files\)/);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await ok(repoDir, 'cat', 'main:/b.txt')).toBe('b\n');
    expect(JSON.parse(await ok(repoDir, 'log', '--json')).length).toBe(3);
  });
});

describe('cafs import keeps names byte for byte', () => {
  it('a non-UTF-8 file name survives import; export refuses it instead of renaming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cafs-names-'));
    try {
      const src = join(dir, 'src');
      mkdirSync(src);
      const odd = Buffer.concat([Buffer.from(src + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]);
      writeFileSync(odd, 'latin-1 name');
      writeFileSync(join(src, 'plain.txt'), 'plain');
      const cli = (...args: string[]) => promisify(execFile)(process.execPath, [resolve('packages/cli/dist/main.js'), ...args], { cwd: dir });
      await cli('init');
      await cli('import', src, '-m', 'odd names');
      const { Repo } = (await import('../packages/repo/dist/index.js')) as typeof import('../packages/repo/dist/index.js');
      const repo = await Repo.open({ path: join(dir, '.cafs') });
      try {
        const { root } = await repo.resolve('main');
        const names = await repo.fs.readdir(root, '/', { withFileTypes: true });
        const bytes = names.map((n) => Buffer.from(n.nameBytes).toString('hex')).sort();
        expect(bytes).toEqual([Buffer.from('caf\xe9.txt', 'latin1').toString('hex'), Buffer.from('plain.txt').toString('hex')].sort());
        const raw = Buffer.from('/caf\xe9.txt', 'latin1');
        expect(new TextDecoder().decode(await repo.fs.readFile(root, raw))).toBe('latin-1 name');
      } finally {
        await repo.close();
      }
      const failed = await cli('export', 'main', join(dir, 'out')).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/not valid UTF-8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
