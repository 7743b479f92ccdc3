import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo } from '../src/repo.js';
import { ConflictError } from '../src/errors.js';
import { Drive } from '../src/drive/drive.js';
import type { DriveChangeEvent } from '../src/drive/watch.js';

let t = 1_700_000_000_000_000_000n;
const clock = () => (t += 1_000_000n);
const hex = (h: Uint8Array) => bytesToHex(h);
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

async function setup(): Promise<{ repo: Repo; drive: Drive }> {
  const repo = await Repo.open({ now: clock });
  await repo.init();
  return { repo, drive: await Drive.open(repo, 'main') };
}

describe('Drive: node:fs/promises over a branch', () => {
  it('reads and writes files and directories; every change is a new root', async () => {
    const { drive } = await setup();
    const r0 = hex(drive.root);
    await drive.writeFile('/a.txt', 'hello');
    const r1 = hex(drive.root);
    expect(r1).not.toBe(r0);
    expect(await drive.readFile('/a.txt', 'utf8')).toBe('hello');
    const buf = await drive.readFile('/a.txt');
    expect(Buffer.isBuffer(buf)).toBe(true);
    expect(buf.toString()).toBe('hello');
    await drive.writeFile('/b.bin', 'aGk=', { encoding: 'base64' });
    expect(await drive.readFile('/b.bin', { encoding: 'utf8' })).toBe('hi');
    await drive.appendFile('/a.txt', Buffer.from(' world'));
    expect(await drive.readFile('/a.txt', 'utf8')).toBe('hello world');
    expect(await code(drive.writeFile('/a.txt', 'x', { flag: 'wx' }))).toBe('EEXIST');
    await drive.writeFile('/a.txt', '!', { flag: 'a' });
    expect(await drive.readFile('/a.txt', 'utf8')).toBe('hello world!');
    await drive.writeFile('/m.txt', 'x', { mode: 0o600 });
    expect((await drive.stat('/m.txt')).mode & 0o777).toBe(0o600);

    expect(await drive.mkdir('/x/y/z', { recursive: true })).toBe('/x');
    expect(await drive.mkdir('/x/y/z', { recursive: true })).toBeUndefined();
    expect(await drive.mkdir('/x/y/w')).toBeUndefined();
    expect(await code(drive.mkdir('/x'))).toBe('EEXIST');
    expect(await code(drive.mkdir('/q/r'))).toBe('ENOENT');
    expect(await drive.readdir('/x/y')).toEqual(['w', 'z']);
    expect(await drive.readdir('/x', { recursive: true })).toEqual(['y', 'y/w', 'y/z']);
    await drive.symlink('/a.txt', '/link');
    const ents = await drive.readdir('/', { withFileTypes: true });
    const byName = Object.fromEntries(ents.map((e) => [e.name, e]));
    expect(byName['a.txt']!.isFile()).toBe(true);
    expect(byName['x']!.isDirectory()).toBe(true);
    expect(byName['link']!.isSymbolicLink()).toBe(true);
    expect(byName['x']!.parentPath).toBe('/');

    const st = await drive.stat('/a.txt');
    expect(st.size).toBe(12);
    expect(st.isFile()).toBe(true);
    expect(typeof st.mtimeMs).toBe('number');
    expect(st.mtime).toBeInstanceOf(Date);
    expect(st.mtime.getTime()).toBe(Math.floor(st.mtimeMs));
    expect(st.ctime).toBeInstanceOf(Date);
    expect(st.atime).toBeInstanceOf(Date);
    expect(st.birthtime).toBeInstanceOf(Date);
    expect(st.nlink).toBe(1);
    expect(st.blksize).toBe(4096);
    expect(typeof st.blocks).toBe('number');
    expect(st.dev).toBeGreaterThan(0);
    expect(st.ino).toBeGreaterThan(0);
    expect(st.rdev).toBe(0);
    expect(st.mode & 0o170000).toBe(0o100000);
    const big = await drive.stat('/a.txt', { bigint: true });
    expect(big.size).toBe(12n);
    expect(typeof big.mtimeNs).toBe('bigint');
    expect(typeof big.ino).toBe('bigint');
    expect(big.isFile()).toBe(true);
    expect((await drive.lstat('/link')).isSymbolicLink()).toBe(true);
    expect((await drive.stat('/link')).isFile()).toBe(true);
    expect((await drive.stat('/link')).size).toBe(12);
    expect(await drive.readlink('/link')).toBe('/a.txt');
    await drive.symlink('../x/y', '/x/up');
    expect(await drive.realpath('/x/up/z')).toBe('/x/y/z');
    expect(await drive.realpath('/link')).toBe('/a.txt');

    await drive.access('/a.txt');
    expect(await code(drive.access('/nope'))).toBe('ENOENT');
    expect(await code(drive.readFile('/nope'))).toBe('ENOENT');
    expect(await code(drive.readFile('/x'))).toBe('EISDIR');
    expect(await code(drive.readFile('/a.txt/b'))).toBe('ENOTDIR');
    expect(await code(drive.readdir('/a.txt'))).toBe('ENOTDIR');

    await drive.rename('/a.txt', '/x/a.txt');
    expect(await code(drive.stat('/a.txt'))).toBe('ENOENT');
    await drive.copyFile('/x/a.txt', '/c.txt');
    expect(await drive.readFile('/c.txt', 'utf8')).toBe('hello world!');
    expect(await code(drive.copyFile('/x/a.txt', '/c.txt', 1 /* COPYFILE_EXCL */))).toBe('EEXIST');
    await drive.cp('/x', '/x2', { recursive: true });
    expect(await drive.readdir('/x2/y')).toEqual(['w', 'z']);
    await drive.writeFile('/x3/only.txt', 'o').catch(() => undefined);
    await drive.mkdir('/x3');
    await drive.writeFile('/x3/only.txt', 'o');
    await drive.cp('/x', '/x3', { recursive: true });
    expect((await drive.readdir('/x3')).sort()).toEqual(['a.txt', 'only.txt', 'up', 'y']);
    expect((await drive.lstat('/x3/up')).isSymbolicLink()).toBe(true);
    expect(await code(drive.cp('/x', '/x4'))).toBe('EISDIR');

    await drive.chmod('/c.txt', 0o600);
    expect((await drive.stat('/c.txt')).mode & 0o777).toBe(0o600);
    await drive.chown('/c.txt', 1000, 1001);
    expect((await drive.stat('/c.txt')).uid).toBe(1000);
    await drive.lchown('/link', 7, 8);
    expect((await drive.lstat('/link')).gid).toBe(8);
    await drive.utimes('/c.txt', 1_600_000_000, new Date(1_600_000_000_500));
    expect((await drive.stat('/c.txt')).mtimeMs).toBe(1_600_000_000_500);
    await drive.lutimes('/link', 5, 5);
    expect((await drive.lstat('/link')).mtimeMs).toBe(5000);
    await drive.truncate('/c.txt', 5);
    expect(await drive.readFile('/c.txt', 'utf8')).toBe('hello');
    await drive.truncate('/c.txt');
    expect((await drive.stat('/c.txt')).size).toBe(0);

    await drive.unlink('/c.txt');
    expect(await code(drive.unlink('/c.txt'))).toBe('ENOENT');
    expect(await code(drive.unlink('/x'))).toBe('EISDIR');
    expect(await code(drive.rmdir('/x'))).toBe('ENOTEMPTY');
    await drive.rmdir('/x/y/w');
    expect(await code(drive.rm('/x'))).toBe('EISDIR');
    await drive.rm('/x', { recursive: true });
    expect(await code(drive.rm('/x'))).toBe('ENOENT');
    await drive.rm('/x', { force: true });
    expect(await drive.exists('/x')).toBe(false);
  });

  it('serializes concurrent calls in call order: no write is lost', async () => {
    const { drive } = await setup();
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) ps.push(drive.appendFile('/log', `${i},`));
    ps.push(drive.readFile('/log', 'utf8'));
    const results = await Promise.all(ps);
    const expected = Array.from({ length: 50 }, (_, i) => `${i},`).join('');
    expect(results[50]).toBe(expected);
    // Mixed operations keep call order too.
    const a = drive.writeFile('/f', 'one');
    const b = drive.rename('/f', '/g');
    const c = drive.readFile('/g', 'utf8');
    const d = drive.writeFile('/f', 'two');
    await Promise.all([a, b, d]);
    expect(await c).toBe('one');
    expect(await drive.readFile('/f', 'utf8')).toBe('two');
  });

  it('FileHandle: positions, flags, append, EXCL, EOF, EBADF', async () => {
    const { drive } = await setup();
    const h = await drive.open('/f', 'w+');
    expect(h.fd).toBeGreaterThan(0);
    expect((await h.write(Buffer.from('hello world'))).bytesWritten).toBe(11);
    expect((await h.write('HELLO', 0)).bytesWritten).toBe(5);
    const buf = Buffer.alloc(20);
    const r = await h.read(buf, 0, 20, 0);
    expect(r.bytesRead).toBe(11);
    expect(buf.subarray(0, 11).toString()).toBe('HELLO world');
    expect(r.buffer).toBe(buf);
    // The file position was 11 after the first write; the positioned write and read kept it.
    expect((await h.read(Buffer.alloc(4), 0, 4, null)).bytesRead).toBe(0);
    expect((await h.read(Buffer.alloc(4), 0, 4, 100)).bytesRead).toBe(0);
    await h.write('!', null);
    expect(await drive.readFile('/f', 'utf8')).toBe('HELLO world!');
    // A write past the end leaves a hole of zeros.
    await h.write(Buffer.from('Z'), 0, 1, 15);
    expect([...(await drive.readFile('/f'))]).toEqual([...Buffer.from('HELLO world!'), 0, 0, 0, 90]);
    await h.truncate(5);
    expect((await h.stat()).size).toBe(5);
    expect(await drive.readFile('/f', 'utf8')).toBe('HELLO');
    await h.sync();
    await h.datasync();
    await h.close();
    expect(h.fd).toBe(-1);
    expect(await code(h.read(Buffer.alloc(1), 0, 1, 0))).toBe('EBADF');
    expect(await code(h.write('x'))).toBe('EBADF');
    expect(await code(h.stat())).toBe('EBADF');

    // Append mode ignores the position.
    const a = await drive.open('/f', 'a+');
    await a.write('123', 0);
    await a.write(Buffer.from('45'), 0, 2, 1);
    expect(await drive.readFile('/f', 'utf8')).toBe('HELLO12345');
    const rb = Buffer.alloc(5);
    expect((await a.read(rb, 0, 5, 0)).bytesRead).toBe(5);
    expect(rb.toString()).toBe('HELLO');
    await a.close();

    expect(await code(drive.open('/f', 'wx'))).toBe('EEXIST');
    expect(await code(drive.open('/nope', 'r'))).toBe('ENOENT');
    expect(await code(drive.open('/nope/x', 'w'))).toBe('ENOENT');
    await drive.mkdir('/d');
    expect(await code(drive.open('/d', 'w'))).toBe('EISDIR');
    const wx = await drive.open('/new', 'wx', 0o600);
    expect((await wx.stat()).mode & 0o777).toBe(0o600);
    await wx.close();
    // 'w' truncates, 'r+' does not; 'r' cannot write, 'w' cannot read.
    const rp = await drive.open('/f', 'r+');
    await rp.write('ab');
    expect(await rp.readFile('utf8')).toBe('LLO12345');
    expect(await code(rp.read(Buffer.alloc(1), 0, 1, null))).toBe('ok');
    await rp.close();
    const ro = await drive.open('/f', 'r');
    expect(await code(ro.write('x'))).toBe('EBADF');
    expect(await ro.readFile('utf8')).toBe('abLLO12345');
    await ro.close();
    const w = await drive.open('/f', 'w');
    expect((await drive.stat('/f')).size).toBe(0);
    expect(await code(w.read(Buffer.alloc(1), 0, 1, 0))).toBe('EBADF');
    await w.writeFile('first ');
    await w.appendFile('second');
    await w.close();
    expect(await drive.readFile('/f', 'utf8')).toBe('first second');
    // readFile/writeFile accept a handle.
    const h2 = await drive.open('/f', 'r');
    expect(await drive.readFile(h2, 'utf8')).toBe('first second');
    await h2.close();
  });

  it('streams round-trip a 5 MiB file', async () => {
    const { drive } = await setup();
    const data = randomBytes(5 * 1024 * 1024);
    const ws = drive.createWriteStream('/big.bin');
    await pipeline(Readable.from((function* () {
      for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
    })()), ws);
    expect(ws.bytesWritten).toBe(data.length);
    expect((await drive.stat('/big.bin')).size).toBe(data.length);
    const rs = drive.createReadStream('/big.bin', { highWaterMark: 256 * 1024 });
    expect(rs).toBeInstanceOf(Readable);
    expect(ws).toBeInstanceOf(Writable);
    const hash = createHash('sha256');
    let chunks = 0;
    for await (const c of rs) {
      expect((c as Buffer).length).toBeLessThanOrEqual(256 * 1024);
      hash.update(c as Buffer);
      chunks++;
    }
    expect(chunks).toBeGreaterThanOrEqual(20);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    // start/end (inclusive) ranges.
    const part: Buffer[] = [];
    for await (const c of drive.createReadStream('/big.bin', { start: 1000, end: 1999 })) part.push(c as Buffer);
    expect(Buffer.concat(part).equals(data.subarray(1000, 2000))).toBe(true);
    // A write stream at `start` with 'r+' patches in place.
    const patch = drive.createWriteStream('/big.bin', { flags: 'r+', start: 10 });
    await pipeline(Readable.from([Buffer.from('PATCH')]), patch);
    expect((await drive.readFile('/big.bin')).subarray(8, 17).toString('latin1')).toBe(Buffer.concat([data.subarray(8, 10), Buffer.from('PATCH'), data.subarray(15, 17)]).toString('latin1'));
    // Errors surface as stream errors.
    const bad = drive.createReadStream('/missing');
    await expect(new Promise((res, rej) => bad.on('error', rej).on('end', res).resume())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('watch sees add, change, remove and rename with the roots; slow consumers do not block', async () => {
    const { drive } = await setup();
    const ac = new AbortController();
    const w = drive.watch('/', { signal: ac.signal, directories: false });
    await drive.writeFile('/a', 'one');
    const rootAdd = drive.root;
    await drive.writeFile('/a', 'two');
    const rootChange = drive.root;
    await drive.rename('/a', '/b');
    const rootRename = drive.root;
    await drive.unlink('/b');
    const rootRemove = drive.root;
    // All four changes happened with nobody reading the watcher.
    expect(w.pending).toBe(4);
    const seen: DriveChangeEvent[] = [];
    for await (const e of w) {
      seen.push(e);
      if (seen.length === 4) ac.abort();
    }
    expect(seen.map((e) => [e.op, e.path, e.from])).toEqual([
      ['add', '/a', undefined],
      ['change', '/a', undefined],
      ['rename', '/b', '/a'],
      ['remove', '/b', undefined],
    ]);
    expect(seen.map((e) => hex(e.root))).toEqual([rootAdd, rootChange, rootRename, rootRemove].map(hex));
    expect(hex(seen[1]!.prev)).toBe(hex(rootAdd));

    // A watcher on a subtree, with directories, waiting for changes that come later.
    await drive.mkdir('/sub');
    const sub = drive.watch('/sub');
    const got: DriveChangeEvent[] = [];
    const done = (async () => {
      for await (const e of sub) {
        got.push(e);
        if (got.some((x) => x.path === '/sub/f')) break;
      }
    })();
    await drive.writeFile('/elsewhere', 'x');
    await drive.writeFile('/sub/f', 'x');
    await done;
    expect(got.map((e) => [e.op, e.path])).toEqual([
      ['change', '/sub'],
      ['add', '/sub/f'],
    ]);
  });

  it('commit with compare-and-swap; conflicts leave the drive as it was', async () => {
    const { repo, drive } = await setup();
    await drive.writeFile('/a', '1');
    const c1 = await drive.commit('one');
    expect(hex(await repo.head('main'))).toBe(hex(c1));
    expect(hex((await repo.resolve('main')).root)).toBe(hex(drive.root));
    expect((await repo.readCommit(c1)).message).toBe('one');

    const other = await Drive.open(repo, 'main');
    await other.writeFile('/b', 'other');
    await other.commit('other');

    await drive.writeFile('/a', '2');
    const before = hex(drive.root);
    const err = await drive.commit('two').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(hex(drive.root)).toBe(before);
    expect(await drive.readFile('/a', 'utf8')).toBe('2');
    expect(hex(drive.head!)).toBe(hex(c1));

    // A drive on a new branch creates it on the first commit.
    const fresh = await Drive.open(repo, 'feature');
    expect(await fresh.readdir('/')).toEqual([]);
    await fresh.writeFile('/x', 'y');
    await fresh.commit('first');
    expect(await (await fresh.checkout('feature')).readFile('/x', 'utf8')).toBe('y');

    // new Drive() without awaiting: calls wait for the head.
    const lazy = new Drive(repo, { branch: 'main' });
    expect(await lazy.readFile('/b', 'utf8')).toBe('other');
  });

  it('checkout gives a read-only drive on any snapshot', async () => {
    const { drive } = await setup();
    await drive.writeFile('/a', 'v1');
    const c1 = await drive.commit('v1');
    const root1 = drive.root;
    await drive.writeFile('/a', 'v2');
    await drive.commit('v2');
    const old = await drive.checkout('main~1');
    expect(old.readOnly).toBe(true);
    expect(await old.readFile('/a', 'utf8')).toBe('v1');
    const byHash = await drive.checkout(c1);
    expect(await byHash.readFile('/a', 'utf8')).toBe('v1');
    const byRoot = await drive.checkout(root1);
    expect(await byRoot.readFile('/a', 'utf8')).toBe('v1');
    for (const p of [
      old.writeFile('/a', 'x'),
      old.mkdir('/d'),
      old.rm('/a'),
      old.unlink('/a'),
      old.rename('/a', '/b'),
      old.chmod('/a', 0o600),
      old.truncate('/a'),
      old.open('/a', 'w'),
      old.open('/a', 'r+'),
      old.commit('nope'),
      old.batch().writeFile('/z', 'z'),
    ]) {
      expect(await code(p)).toBe('EROFS');
    }
    const h = await old.open('/a', 'r');
    expect(await h.readFile('utf8')).toBe('v1');
    await h.close();
    expect(await drive.readFile('/a', 'utf8')).toBe('v2');
  });

  it('batch lands many operations as one root', async () => {
    const { drive } = await setup();
    await drive.writeFile('/keep', 'k');
    const before = drive.root;
    const roots: string[] = [];
    const w = drive.watch('/', { directories: false });
    const b = drive.batch();
    await b.mkdir('/d/e', { recursive: true });
    for (let i = 0; i < 20; i++) await b.writeFile(`/d/e/${i}`, String(i));
    await b.appendFile('/keep', '2');
    await b.rename('/d/e/0', '/d/zero');
    expect(await code(b.unlink('/missing'))).toBe('ENOENT');
    expect(await b.readFile('/keep', 'utf8')).toBe('k2');
    // Nothing has landed yet.
    expect(hex(drive.root)).toBe(hex(before));
    expect(await drive.exists('/d')).toBe(false);
    const root = await b.flush();
    roots.push(hex(drive.root));
    expect(roots).toEqual([hex(root)]);
    expect((await drive.readdir('/d/e')).length).toBe(19);
    expect(await drive.readFile('/d/zero', 'utf8')).toBe('0');
    expect(await drive.readFile('/keep', 'utf8')).toBe('k2');
    expect(await code(b.writeFile('/late', 'x'))).toBe('EINVAL');
    // One root transition for the whole batch.
    expect(w.pending).toBe(1);
    w.close();

    // If the drive moves while a batch is open, the batch is replayed on top, losing nothing.
    const b2 = drive.batch();
    await b2.writeFile('/from-batch', 'b');
    await drive.writeFile('/from-drive', 'd');
    await b2.flush();
    expect(await drive.readFile('/from-batch', 'utf8')).toBe('b');
    expect(await drive.readFile('/from-drive', 'utf8')).toBe('d');
  });
});
