// Real tools on a real FUSE mount. Every command runs as a child process, asynchronously: the
// FUSE server lives in this process, so a synchronous call into the mount would deadlock it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { mount, type CafsMount } from '../src/index.js';

const HAVE_FUSE = existsSync('/dev/fuse') && existsSync('/usr/bin/fusermount');
if (!HAVE_FUSE) console.warn('@cafs/fuse tests skipped: /dev/fuse or fusermount (Debian packages fuse, libfuse2) missing');

const here = fileURLToPath(new URL('.', import.meta.url));
const KV_SRC = resolve(here, '../../kv/src');
const FUSE_DIST = resolve(here, '../dist/index.js');
const REPO_DIST = resolve(here, '../../repo/dist/index.js');

function sh(cmd: string, cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    // Never spawn with `cwd` inside the mount: libuv waits synchronously for the child's chdir,
    // which this very process has to answer.
    const full = cwd === undefined ? cmd : `cd '${cwd}' && ${cmd}`;
    execFile('bash', ['-c', full], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: String(stdout) + String(stderr) });
    });
  });
}

async function ok(cmd: string, cwd?: string): Promise<string> {
  const r = await sh(cmd, cwd);
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}):\n${r.out}`);
  return r.out;
}

async function mountedAt(dir: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((l) => l.split(' ')[4] === dir);
}

describe.skipIf(!HAVE_FUSE)('@cafs/fuse on a real mount', () => {
  let tmp: string;
  let repo: Repo;
  let m: CafsMount;
  let mnt: string;
  const mounts: CafsMount[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cafs-fuse-'));
    mnt = join(tmp, 'mnt');
    repo = await Repo.open();
    await repo.init();
    // One commit per change: these tests check the branch head after each request.
    m = await mount({ repo, branch: 'main' }, mnt, { handleSignals: false, commits: { each: true } });
    mounts.push(m);
  });

  afterAll(async () => {
    for (const x of mounts) await x.unmount().catch(() => undefined);
    for (const dir of [mnt, join(tmp, 'ro'), join(tmp, 'child'), join(tmp, 'outside-unmount')]) {
      if (await mountedAt(dir)) await sh(`fusermount -uz '${dir}'`);
    }
    await rm(tmp, { recursive: true, force: true });
  });

  it('cp -a a real tree in and out: same bytes', async () => {
    await ok(`cp -a '${KV_SRC}' '${mnt}/kv'`);
    await ok(`diff -r '${KV_SRC}' '${mnt}/kv'`);
    await ok(`cp -a '${mnt}/kv' '${tmp}/kv-out'`);
    await ok(`diff -r '${KV_SRC}' '${tmp}/kv-out'`);
    const listing = `find . -printf '%p %y %m\\n' | sort; find . -type f -printf '%p %s\\n' | sort`;
    expect(await ok(`cd '${mnt}/kv' && ${listing}`)).toBe(await ok(`cd '${KV_SRC}' && ${listing}`));
  });

  it('tar create and extract', async () => {
    await ok(`tar -C '${KV_SRC}' -cf '${mnt}/kv.tar' .`);
    await ok(`mkdir '${mnt}/untar' && tar -C '${mnt}/untar' -xf '${mnt}/kv.tar'`);
    await ok(`diff -r '${KV_SRC}' '${mnt}/untar'`);
    await ok(`tar -C '${mnt}/kv' -cf - . | tar -tf - > /dev/null`);
  });

  it('git init, add, commit, then git fsck', async () => {
    const g = `git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main -c safe.directory='*'`;
    await ok(`mkdir '${mnt}/g' && cp -a '${KV_SRC}/.' '${mnt}/g/'`);
    await ok(`${g} init -q && ${g} add -A && ${g} commit -qm first`, `${mnt}/g`);
    await ok(`echo more >> bytes.ts && ${g} commit -qam second`, `${mnt}/g`);
    await ok(`${g} fsck --full --strict`, `${mnt}/g`);
    expect(await ok(`${g} log --oneline | wc -l`, `${mnt}/g`)).toBe('2\n');
    await ok(`${g} status --porcelain | (! grep .)`, `${mnt}/g`);
  });

  it('rename over an existing file (open, too) is atomic and keeps the old content readable', async () => {
    await ok(`cd '${mnt}' && printf old > target && printf new > incoming`);
    const out = await ok(`cd '${mnt}' && exec 3<target && mv incoming target && cat target && echo && cat <&3 && echo && ls`);
    expect(out.startsWith('new\nold\n')).toBe(true);
    expect(out).not.toContain('.fuse_hidden');
    expect(out).not.toContain('incoming');
  });

  it('a file open while unlinked stays readable and writable until closed', async () => {
    const out = await ok(`cd '${mnt}' && printf 'still here' > gone && exec 3<>gone && rm gone && ! test -e gone && cat <&3 && echo ' more' >&3 && cat /proc/self/fd/3 && ls -a`);
    expect(out.startsWith('still herestill here more\n')).toBe(true);
    expect(out).not.toContain('.fuse_hidden');
    expect(out).not.toMatch(/^gone$/m);
    expect(await ok(`ls -a '${mnt}'`)).not.toContain('.fuse_hidden');
  });

  it('O_APPEND, O_TRUNC, O_EXCL, symlinks, chmod, xattrs, link (not of a directory)', async () => {
    await ok(`cd '${mnt}' && printf ab > f && printf cd >> f && test "$(cat f)" = abcd && printf x > f && test "$(cat f)" = x`);
    await ok(`cd '${mnt}' && set -o noclobber && ! (printf y > f) 2>/dev/null`);
    await ok(`cd '${mnt}' && ln -s f s && test "$(readlink s)" = f && test "$(cat s)" = x && chmod 600 f && test "$(stat -c %a f)" = 600`);
    // Hard links (more in hard-links.test.ts): a second name; none for a directory.
    await ok(`cd '${mnt}' && ln f hard && test "$(cat hard)" = x && test "$(stat -c %h hard)" = 2 && rm hard`);
    await ok(`cd '${mnt}' && mkdir linkdir`);
    const link = await sh(`cd '${mnt}' && link linkdir hard`);
    expect(link.code).not.toBe(0);
    expect(link.out).toContain('Operation not permitted');
    await ok(`cd '${mnt}' && rmdir linkdir`);
    await ok(`cd '${mnt}' && mkdir -p dd/ee && rmdir dd/ee && ! rmdir / 2>/dev/null; ! rmdir kv 2>/dev/null; rmdir dd`);
    const py = await sh('command -v python3');
    if (py.code === 0) {
      const out = await ok(
        `python3 -c "import os,sys; p=sys.argv[1]; os.setxattr(p+'/f','user.k',b'v'); print(os.getxattr(p+'/f','user.k').decode()); print(sorted(os.listxattr(p+'/f'))); print(os.getxattr(p,'user.cafs.root').decode())" '${mnt}'`,
      );
      const [v, list, root] = out.trim().split('\n');
      expect(v).toBe('v');
      expect(list).toBe("['user.k']");
      expect(root).toBe(bytesToHex(await m.currentRoot()));
    }
    const xa = await m.fs.getxattr(await m.currentRoot(), '/f', 'user.k').catch(() => undefined);
    if (py.code === 0) expect(new TextDecoder().decode(xa)).toBe('v');
  });

  it('utimens keeps the modification time asked for (touch -d, cp -a, tar), to the nanosecond', async () => {
    await ok(`cd '${mnt}' && touch -d '2001-02-03 04:05:06.123456789 UTC' t && test "$(stat -c %y t)" = '2001-02-03 04:05:06.123456789 +0000'`);
    // Access time set, modification time left alone (UTIME_OMIT): the mtime stays.
    await ok(`cd '${mnt}' && touch -a -d '2010-01-01 UTC' t && test "$(stat -c %Y t)" = 981173106`);
    const src = join(tmp, 'times');
    await ok(`mkdir -p '${src}/d' && echo a > '${src}/d/a' && touch -d '1999-12-31 23:59:59 UTC' '${src}/d/a' && touch -a -d '2020-01-01 UTC' '${src}/d/a'`);
    await ok(`cp -a '${src}/d' '${mnt}/cpa' && test "$(stat -c %Y '${mnt}/cpa/a')" = 946684799`);
    await ok(`tar cf '${tmp}/t.tar' -C '${src}' d && mkdir '${mnt}/untimes' && tar xf '${tmp}/t.tar' -C '${mnt}/untimes'`);
    expect((await ok(`stat -c %Y '${mnt}/untimes/d/a'`)).trim()).toBe('946684799');
    const st = await m.fs.stat(await m.currentRoot(), '/cpa/a');
    expect(st.mtimeMs).toBe(946684799000);
    await ok(`rm -rf '${mnt}/t' '${mnt}/cpa' '${mnt}/untimes' '${src}'`);
  });

  it('new files belong to their creator; the kernel enforces modes and owners', async () => {
    await repo.createBranch('shared', 'main');
    const dir = join(tmp, 'shared');
    const sm = await mount({ repo, branch: 'shared' }, dir, { handleSignals: false, allowOther: true });
    mounts.push(sm);
    const as = (uid: number, cmd: string): Promise<{ code: number; out: string }> =>
      sh(`cd '${dir}' && setpriv --reuid=${uid} --regid=${uid} --clear-groups bash -c '${cmd}'`);
    await ok(`cd '${dir}' && mkdir -m 1777 pub && echo root > pub/rootfile && chmod 644 pub/rootfile`);
    const owners = await as(1000, 'echo hi > pub/mine && mkdir pub/md && ln -s mine pub/ml && stat -c "%u:%g" pub/mine pub/md && stat -c "%u:%g" pub/ml');
    expect(owners.out.trim().split('\n')).toEqual(['1000:1000', '1000:1000', '1000:1000']);
    const st = await sm.fs.lstat(await sm.currentRoot(), '/pub/mine');
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
    // Modes and owners are checked by the kernel (default_permissions) against what cafs stores.
    expect((await as(1000, 'echo x >> pub/rootfile')).out).toContain('Permission denied');
    expect((await as(1000, 'chown 0 pub/mine')).out).toContain('Operation not permitted');
    await ok(`test "$(cat '${dir}/pub/rootfile')" = root`);
    expect((await as(1000, 'chmod 600 pub/mine && stat -c %a pub/mine')).out.trim()).toBe('600');
    expect((await as(1001, 'cat pub/mine')).out).toContain('Permission denied');
    // The sticky directory: another user cannot remove what is not theirs.
    expect((await as(1001, 'rm -f pub/mine')).code).not.toBe(0);
    expect((await as(1000, 'cat pub/mine')).out.trim()).toBe('hi');
    await sm.unmount();
  });

  it('mkfifo makes a working named pipe; a unix socket can be bound in the mount; mknod makes device nodes (as root)', async () => {
    await ok(`cd '${mnt}' && mkfifo -m 640 pipe && test -p pipe && test "$(stat -c %a pipe)" = 640`);
    // Data flows through the kernel, never through cafs.
    const got = ok(`cat '${mnt}/pipe'`);
    await ok(`echo through-the-pipe > '${mnt}/pipe'`);
    expect((await got).trim()).toBe('through-the-pipe');
    const st = await m.fs.lstat(await m.currentRoot(), '/pipe');
    expect(st.isFIFO()).toBe(true);
    const py = await sh('command -v python3');
    if (py.code === 0) {
      await ok(`python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]+'/sock'); s.close()" '${mnt}'`);
      await ok(`test -S '${mnt}/sock'`);
      expect((await m.fs.lstat(await m.currentRoot(), '/sock')).isSocket()).toBe(true);
    }
    if (process.getuid?.() === 0) {
      // The kernel lets only CAP_MKNOD make devices; cafs stores type and number.
      await ok(`cd '${mnt}' && mknod -m 620 null2 c 1 3 && mknod blk0 b 7 0 && mknod big c 300 70000`);
      expect((await ok(`stat -c '%F %t:%T %a' '${mnt}/null2'`)).trim()).toBe('character special file 1:3 620');
      expect((await ok(`stat -c '%F %t:%T' '${mnt}/blk0'`)).trim()).toBe('block special file 7:0');
      expect((await ok(`stat -c '%t:%T' '${mnt}/big'`)).trim()).toBe(`${(300).toString(16)}:${(70000).toString(16)}`);
      const nul = await m.fs.lstat(await m.currentRoot(), '/null2');
      expect(nul.isCharacterDevice()).toBe(true);
      expect(nul.rdev).toBe(0x103);
      // tar keeps them, as it keeps them on any filesystem.
      await ok(`cd '${mnt}' && tar cf - null2 blk0 | (mkdir -p devcopy && cd devcopy && tar xf -) && test -c devcopy/null2 && test -b devcopy/blk0`);
      expect((await ok(`stat -c '%t:%T' '${mnt}/devcopy/null2'`)).trim()).toBe('1:3');
      await ok(`rm -rf '${mnt}/null2' '${mnt}/blk0' '${mnt}/big' '${mnt}/devcopy'`);
    }
    await ok(`rm -f '${mnt}/pipe' '${mnt}/sock'`);
  });

  it('access times: touch -a, cp -a and utimensat set them; reads do not', async () => {
    await ok(`cd '${mnt}' && echo data > at && touch -m -d @1500000000 at && touch -a -d @1000000000.25 at`);
    expect((await ok(`stat -c '%X %Y' '${mnt}/at'`)).trim()).toBe('1000000000 1500000000');
    expect((await ok(`stat -c '%x' '${mnt}/at'`)).trim()).toMatch(/\.250000000/);
    await ok(`cat '${mnt}/at' > /dev/null && cat '${mnt}/at' > /dev/null`);
    expect((await ok(`stat -c %X '${mnt}/at'`)).trim()).toBe('1000000000');
    const st = await m.fs.lstat(await m.currentRoot(), '/at');
    expect(st.atimeNs).toBe(1_000_000_000_250_000_000n);
    expect(st.mtimeNs).toBe(1_500_000_000_000_000_000n);
    // cp -a carries both times; touch -m leaves the access time alone.
    await ok(`cd '${mnt}' && cp -a at at2 && touch -m -d @1600000000 at2`);
    expect((await ok(`stat -c '%X %Y' '${mnt}/at2'`)).trim()).toBe('1000000000 1600000000');
    await ok(`rm '${mnt}/at' '${mnt}/at2'`);
  });

  it('directory link counts are 2 + subdirectories through mkdir, rmdir, rename and chmod, as on tmpfs', async () => {
    // Each step, then every directory's link count as the mount (never the kernel's cache) answers it.
    const steps = [
      'mkdir -p a/b a/c d && touch a/f',
      'mv a/c d/',
      'mkdir d/e d/c/g && rmdir a/b',
      'mkdir y z w && mv y z && mv -T z/y w',
      'mv d z/d && chmod 700 z/d && mkdir -p y/q/r',
      'mv y/q z/d/c && rmdir z/d/e',
    ];
    const counts = "find . -mindepth 1 -type d | sort | xargs -r stat --cached=never -c '%n %h'";
    const run = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      for (const s of steps) out.push(await ok(`cd '${dir}' && ${s} && ${counts}`));
      return out;
    };
    const onMount = join(mnt, 'nlink');
    const onTmpfs = await mkdtemp('/dev/shm/cafs-nlink-');
    await ok(`mkdir '${onMount}'`);
    try {
      const want = await run(onTmpfs);
      expect(want[1]).toContain('./d 3');
      expect(await run(onMount)).toEqual(want);
      // The tree's own count agrees (a fresh count, not the mount's kept one).
      expect(await m.fs.subdirCount(await m.currentRoot(), '/nlink/z/d')).toBe(1);
    } finally {
      await rm(onTmpfs, { recursive: true, force: true });
      await ok(`rm -rf '${onMount}'`);
    }
  });

  it('sizes stop at 2^53 - 1 (fuse-native passes numbers): beyond, writes and truncation answer EFBIG, a write reaching past it writes what fits', async () => {
    const max = 2 ** 53 - 1;
    await ok(`cd '${mnt}' && truncate -s ${max} edge && test "$(stat -c %s edge)" = ${max}`);
    for (const size of [max + 1, 2 ** 60]) {
      const r = await sh(`cd '${mnt}' && truncate -s ${BigInt(size)} edge`);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain('File too large');
    }
    // Ten bytes, one at a time, from 5 below the limit: five land, the sixth is EFBIG.
    const w = await sh(`cd '${mnt}' && printf 0123456789 | dd of=edge2 bs=1 seek=$((${max} - 5)) conv=notrunc status=none`);
    expect(w.code).not.toBe(0);
    expect(w.out).toContain('File too large');
    expect(await ok(`cd '${mnt}' && stat -c %s edge2 && dd if=edge2 bs=1 skip=$((${max} - 5)) status=none`)).toBe(`${max}\n01234`);
    // One write across the limit writes what fits (as Linux at its own limit); appending at it is EFBIG.
    const py = await sh('command -v python3');
    if (py.code === 0) {
      const out = await ok(
        `python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
print(os.pwrite(fd, b'abcdefgh', ${max} - 3))
for flags, at in ((os.O_WRONLY, ${max}), (os.O_WRONLY | os.O_APPEND, 0)):
    try: os.pwrite(os.open(sys.argv[1], flags), b'x', at) if at else os.write(os.open(sys.argv[1], flags), b'x')
    except OSError as e: print(e.strerror)
print(os.fstat(fd).st_size)" '${mnt}/edge3'`,
      );
      expect(out).toBe(`3\nFile too large\nFile too large\n${max}\n`);
    }
    const root = await m.currentRoot();
    expect((await m.fs.stat(root, '/edge2')).size).toBe(BigInt(max));
    await ok(`rm -f '${mnt}/edge' '${mnt}/edge2' '${mnt}/edge3'`);
  });

  it('sparse: truncate -s 1T, then du shows nearly nothing', async () => {
    await ok(`cd '${mnt}' && truncate -s 1T sparse`);
    expect((await ok(`stat -c %s '${mnt}/sparse'`)).trim()).toBe(String(2 ** 40));
    const kib = Number((await ok(`du -k '${mnt}/sparse'`)).split(/\s/)[0]);
    expect(kib).toBeLessThan(64);
    await ok(`cd '${mnt}' && printf z | dd of=sparse bs=1 seek=$((1<<39)) conv=notrunc status=none && test "$(dd if=sparse bs=1 skip=$((1<<39)) count=1 status=none)" = z`);
    await ok(`rm '${mnt}/sparse'`);
  });

  it('the branch head is the mount root, and the fs API reads what the mount shows', async () => {
    const root = await m.currentRoot();
    const head = await repo.head('main');
    expect(bytesToHex((await repo.readCommit(head)).root)).toBe(bytesToHex(root));
    const names = (await readdir(mnt)).sort();
    expect((await repo.fs.readdir(root, '/')).sort()).toEqual(names);
    for (const name of await readdir(KV_SRC, { recursive: true })) {
      const p = join('kv', name);
      const st = await repo.fs.stat(root, '/' + p);
      if (st.isFile()) expect(Buffer.from(await repo.fs.readFile(root, '/' + p)).equals(await readFile(join(KV_SRC, name)))).toBe(true);
    }
    // Gathered writes land in one root at close, and the history holds it.
    await ok(`head -c 3000000 /dev/urandom > '${mnt}/rand'`);
    const after = await m.currentRoot();
    expect(m.history.at(-1)).toEqual(after);
    expect(Buffer.from(await repo.fs.readFile(after, '/rand')).equals(await readFile(join(mnt, 'rand')))).toBe(true);
  });

  it('a read-only mount of an old root keeps showing it while the branch moves on', async () => {
    const old = await m.currentRoot();
    const ro = await mount(old, join(tmp, 'ro'), { repo, handleSignals: false });
    mounts.push(ro);
    await ok(`printf before > '${mnt}/moving'`);
    const frozen = await m.currentRoot();
    const ro2 = ro;
    await ro2.unmount();
    const ro3 = await mount(frozen, join(tmp, 'ro'), { repo, handleSignals: false });
    mounts.push(ro3);
    await ok(`printf after > '${mnt}/moving' && echo new > '${mnt}/newfile'`);
    expect(await ok(`cat '${tmp}/ro/moving'`)).toBe('before');
    expect(await ok(`cat '${mnt}/moving'`)).toBe('after');
    expect((await sh(`test -e '${tmp}/ro/newfile'`)).code).not.toBe(0);
    const w = await sh(`echo x > '${tmp}/ro/moving'`);
    expect(w.code).not.toBe(0);
    expect(w.out).toMatch(/Read-only file system/);
    await ok(`diff -r '${KV_SRC}' '${tmp}/ro/kv'`);
    await ro3.unmount();
    expect(await mountedAt(join(tmp, 'ro'))).toBe(false);
  });

  it('events tell what other programs did; checkout switches a live mount, open files keep their tree', async () => {
    const seen: string[] = [];
    m.events.on('closed', (e) => seen.push(`closed ${e.path}`));
    m.events.on('written', (e) => seen.push(`written ${e.path}`));
    m.events.on('renamed', (e) => seen.push(`renamed ${e.from} ${e.to}`));
    await ok(`printf frame1 > '${mnt}/cam.jpg.tmp' && mv '${mnt}/cam.jpg.tmp' '${mnt}/cam.jpg'`);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toContain('written /cam.jpg.tmp');
    expect(seen).toContain('closed /cam.jpg.tmp');
    expect(seen).toContain('renamed /cam.jpg.tmp /cam.jpg');

    const a = await m.currentRoot();
    await ok(`printf second > '${mnt}/cam.jpg'`);
    const b = await m.currentRoot();
    const dir = join(tmp, 'co');
    const view = await mount(a, dir, { repo, cache: false, handleSignals: false });
    mounts.push(view);
    // Hold cam.jpg open on root a, switch the mount to b, then read through the old descriptor.
    const go = join(tmp, 'go');
    const running = ok(`exec 3<'${dir}/cam.jpg'; cat '${dir}/cam.jpg'; echo; : > '${go}'; while [ -e '${go}' ]; do sleep 0.02; done; cat '${dir}/cam.jpg'; echo; cat <&3`);
    while (!existsSync(go)) await new Promise((r) => setTimeout(r, 20));
    expect(bytesToHex(await view.checkout(b))).toBe(bytesToHex(b));
    await rm(go);
    expect(await running).toBe('frame1\nsecond\nframe1');
    await view.unmount();
  });

  it('the attributes a change answers with (chmod, chown, utimens, truncate, mkdir, symlink, mknod) are the tree\'s', async () => {
    // libfuse asks getattr right after each of these; the mount hands the attributes with its
    // answer and the patched fuse-native answers that getattr itself. stat right after each.
    const d = `${mnt}/attrs`;
    const out = await ok(
      [
        `mkdir -m 750 '${d}' && stat -c '%n %a %u %g %s %Y %F' '${d}'`,
        `printf hello > '${d}/f' && chmod 604 '${d}/f' && stat -c '%n %a %u %g %s %Y %F' '${d}/f'`,
        `chown 123:456 '${d}/f' && stat -c '%n %a %u %g %s %Y %F' '${d}/f'`,
        `touch -m -d '2001-02-03 04:05:06' '${d}/f' && stat -c '%n %a %u %g %s %Y %F' '${d}/f'`,
        `truncate -s 3 '${d}/f' && stat -c '%n %a %u %g %s %F' '${d}/f'`,
        `ln -s f '${d}/l' && stat -c '%n %a %u %g %s %F' '${d}/l'`,
        `mkfifo -m 640 '${d}/p' && stat -c '%n %a %u %g %s %F' '${d}/p'`,
      ].join(' && '),
    );
    const root = await m.currentRoot();
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(7);
    const kind = (st: Awaited<ReturnType<typeof repo.fs.lstat>>): string =>
      st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : st.isFIFO() ? 'fifo' : 'regular file';
    for (const [i, line] of lines.entries()) {
      const [name, mode, uid, gid, size, ...rest] = line.split(' ');
      const path = name!.slice(mnt.length);
      // The last of each path's lines is its state in the final tree.
      if (lines.slice(i + 1).some((l) => l.split(' ')[0] === name)) continue;
      const st = await repo.fs.lstat(root, path);
      expect([path, Number.parseInt(mode!, 8), Number(uid), Number(gid), Number(size)]).toEqual([path, st.mode & 0o7777, st.uid, st.gid, Number(st.size)]);
      expect(rest.join(' ').endsWith(kind(st))).toBe(true);
    }
    // And the values each answer carried, in order.
    expect(lines.map((l) => l.split(' ').slice(1, 5).join(' '))).toEqual(['750 0 0 0', '604 0 0 5', '604 123 456 5', '604 123 456 5', '604 123 456 3', '777 0 0 1', '640 0 0 0']);
    expect(lines[3]!.split(' ')[5]).toBe(String(Math.floor(new Date('2001-02-03T04:05:06').getTime() / 1000)));
  });

  it("a directory's attributes right after entries are made in it are the tree's, also after a checkout", async () => {
    // After a new entry the kernel asks for its directory's attributes (its permission check);
    // the mount hands them with the change's answer and the patched fuse-native answers that
    // getattr itself, until any other change or a checkout.
    const d = `${mnt}/dirattrs`;
    const st = `stat -c '%a %h %.9Y' '${d}'`;
    const out = await ok(
      [
        `mkdir '${d}'`,
        `touch '${d}/a'`,
        st,
        `mkdir '${d}/sub'`,
        st,
        `chmod 700 '${d}'`,
        `printf x > '${d}/b'`,
        st,
        `ln -s a '${d}/l'`,
        st,
        `mkfifo '${d}/p'`,
        st,
      ].join(' && '),
    );
    const lines = out.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['755', '755', '700', '700', '700']);
    const times = lines.map((l) => Number(l.split(' ')[2]));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    const root = await m.currentRoot();
    const tree = await repo.fs.lstat(root, '/dirattrs');
    const ns = tree.mtimeNs;
    const nlink = 2 + (await repo.fs.subdirCount(root, '/dirattrs'))!;
    expect(lines[4]).toBe(`${(tree.mode & 0o777).toString(8)} ${nlink} ${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`);
    // A new entry, then a checkout to a tree where the directory differs: stat shows the checkout's.
    const other = await repo.fs.chmod(root, '/dirattrs', 0o711);
    await ok(`: > '${d}/c'`);
    await m.checkout(other);
    expect((await ok(st)).trim().split(' ')[0]).toBe('711');
  });

  it('writes that cannot become a root after close() returned are reported: writeFailed event, fsync fails', async () => {
    // Someone else moves the branch just before the mount's compare-and-swap of these writes.
    const commit = repo.commit.bind(repo);
    let interfere: string | undefined;
    repo.commit = async (branch, root, message, options) => {
      if (interfere !== undefined && (message === `write ${interfere}` || message === interfere)) {
        interfere = undefined;
        const head = await repo.head(branch);
        const theirs = await repo.fs.writeFile((await repo.readCommit(head)).root, '/theirs', 'x');
        await commit(branch, theirs, 'someone else', { expect: head });
      }
      return commit(branch, root, message, options);
    };
    const failed: string[] = [];
    m.events.on('writeFailed', (e) => failed.push(`${e.path} ${(e.error as { code?: string }).code}`));
    try {
      // close() returns before the root is made (write-behind, as a page cache): it succeeds.
      interfere = '/late';
      await ok(`printf data > '${mnt}/late'`);
      await m.currentRoot();
      await new Promise((r) => setTimeout(r, 50));
      expect(failed).toEqual(['/late ERR_CONFLICT']);
      // The mount follows the branch: their file is there, the refused one is not.
      expect(await ok(`cat '${mnt}/theirs'`)).toBe('x');
      expect((await sh(`test -e '${mnt}/late'`)).code).not.toBe(0);
      // A change of attributes is answered before its root too (chmod succeeds), then refused.
      await ok(`printf y > '${mnt}/late2'`);
      interfere = 'chmod /late2';
      await ok(`chmod 600 '${mnt}/late2'`);
      await m.currentRoot();
      await new Promise((r) => setTimeout(r, 50));
      expect(failed).toEqual(['/late ERR_CONFLICT', '/late2 ERR_CONFLICT']);
      expect((await repo.fs.stat(await m.currentRoot(), '/late2')).mode & 0o777).toBe(0o644);
      // A descriptor whose writes failed to become a root while it stayed open: its close()
      // reports it (flush then goes to JS; while no failure waits, it is answered natively).
      interfere = '/held';
      const child = spawn(process.execPath, ['-e', `
        const fs = require('fs');
        const fd = fs.openSync(${JSON.stringify(mnt + '/held')}, 'w');
        fs.writeSync(fd, 'data');
        fs.writeFileSync(${JSON.stringify(mnt + '/other')}, 'b'); // another request: the writes become a root
        process.stdin.once('data', () => {
          try { fs.closeSync(fd); console.log('closed'); } catch (e) { console.log(e.code); }
          // The next close has nothing left to report.
          fs.closeSync(fs.openSync(${JSON.stringify(mnt + '/again')}, 'w'));
          console.log('again');
        });`]);
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += String(b)));
      const exited = new Promise((r) => child.on('exit', r));
      while (!failed.includes('/held ERR_CONFLICT')) await new Promise((r) => setTimeout(r, 10));
      child.stdin.end('go');
      await exited;
      expect(out.trim().split('\n')).toEqual(['EIO', 'again']);
      // fsync waits for the root: the failure is its answer.
      interfere = '/synced';
      const r = await sh(`dd if=/dev/zero of='${mnt}/synced' bs=1k count=4 conv=fsync`);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/Input\/output error/);
      expect(interfere).toBeUndefined();
    } finally {
      repo.commit = commit;
      m.events.removeAllListeners('writeFailed');
    }
  });

  it('attributes a change answered are not reused once a write or another change follows', async () => {
    // The patched fuse-native answers a getattr right after a setattr from the setattr's
    // answer: a write (or any change) in between must make it ask again.
    const out = await ok(
      `cd '${mnt}' && printf abc > hinted && touch -d @1000000000 hinted && stat -c '%s %Y' hinted && ` +
        `{ exec 3>>hinted; printf de >&3; stat -c '%s %Y' hinted; exec 3>&-; } && chmod 600 hinted && stat -c '%a %s' hinted && ` +
        `printf x >> hinted && stat -c '%a %s' hinted && touch -d @1000000001 hinted && mv hinted hinted2 && stat -c '%s %Y' hinted2`,
    );
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('3 1000000000');
    expect(lines[1]!.split(' ')[0]).toBe('5');
    expect(lines[1]!.split(' ')[1]).not.toBe('1000000000');
    expect(lines.slice(2)).toEqual(['600 5', '600 6', '6 1000000001']);
  });

  it('the kernel keeps a file\'s pages across opens, and drops them when a checkout changes the file', async () => {
    // Same size and same mtime on both roots: only the content tells them apart.
    await ok(`cd '${mnt}' && printf AAAA > kc && touch -d '2001-01-01 UTC' kc && cat kc >/dev/null`);
    const a = await m.currentRoot();
    await ok(`cd '${mnt}' && printf BBBB > kc && touch -d '2001-01-01 UTC' kc && test "$(cat kc)" = BBBB && test "$(cat kc)" = BBBB`);
    await m.checkout(a);
    expect((await ok(`cat '${mnt}/kc'`)).trim()).toBe('AAAA');
    // Writes through the mount keep the cache right: a new open sees them.
    await ok(`cd '${mnt}' && printf CC | dd of=kc bs=1 seek=1 conv=notrunc status=none && test "$(cat kc)" = ACCA`);
    await ok(`cd '${mnt}' && mv kc kc2 && test "$(cat kc2)" = ACCA && rm kc2`);
  });

  it('the gc option keeps a RAM disk\'s store bounded while everything stays readable', async () => {
    const r2 = await Repo.open();
    await r2.init();
    const dir = join(tmp, 'gc');
    const gm = await mount({ repo: r2, branch: 'main' }, dir, { handleSignals: false, gc: { keepLast: 2, everyRoots: 100, graceMs: 0 } });
    mounts.push(gm);
    const runs: { blobsDeleted?: number; error?: Error }[] = [];
    gm.events.on('collected', (e) => runs.push(e));
    // 400 rewrites of one 64 KiB file (each a root and a commit) and 100 small files kept.
    await ok(`cd '${dir}' && for i in $(seq 1 400); do head -c 65536 /dev/urandom > big; done && mkdir keep && for i in $(seq 1 100); do echo $i > keep/$i; done`);
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.every((e) => e.error === undefined)).toBe(true);
    expect(runs.reduce((n, e) => n + (e.blobsDeleted ?? 0), 0)).toBeGreaterThan(300);
    // Without collection the store would hold ~400 big files (~26 MB) plus nodes and commits.
    let bytes = 0;
    for await (const h of r2.store.hashes()) bytes += (await r2.store.get(h)).length;
    expect(bytes).toBeLessThan(8e6);
    expect((await ok(`cd '${dir}' && cat keep/* | wc -l && wc -c < big`)).trim().split(/\s+/)).toEqual(['100', '65536']);
    const root = await gm.currentRoot();
    expect((await r2.fs.readdir(root, '/keep')).length).toBe(100);
    expect((await r2.fs.readFile(root, '/big')).length).toBe(65536);
    await gm.unmount();
  });

  it('SIGTERM unmounts cleanly; an uncaught error detaches; a mount left by a killed process is cleared before mounting again', async () => {
    const dir = join(tmp, 'child');
    const script = `
      import { Repo } from ${JSON.stringify(REPO_DIST)};
      import { mount } from ${JSON.stringify(FUSE_DIST)};
      const repo = await Repo.open(); await repo.init();
      await mount({ repo, branch: 'main' }, ${JSON.stringify(dir)});
      console.log('ready');
      setInterval(() => {}, 1000);
      if (process.env.CRASH) setTimeout(() => { throw new Error('crash on purpose'); }, 50);
    `;
    const start = async (crash = false): Promise<ChildProcess> => {
      const env = crash ? { ...process.env, CRASH: '1' } : process.env;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'], env });
      await new Promise<void>((done, fail) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && done());
        child.on('exit', (code) => fail(new Error(`child exited ${code}`)));
      });
      return child;
    };
    const exited = (c: ChildProcess) => new Promise<void>((done) => (c.exitCode !== null || c.signalCode !== null ? done() : c.on('exit', () => done())));

    let child = await start();
    expect(await mountedAt(dir)).toBe(true);
    child.kill('SIGTERM');
    await exited(child);
    expect(await mountedAt(dir)).toBe(false);

    // An uncaught error: the exit hook detaches the mount.
    child = await start(true);
    await exited(child);
    expect(child.exitCode).not.toBe(0);
    expect(await mountedAt(dir)).toBe(false);

    child = await start();
    child.kill('SIGKILL');
    await exited(child);
    expect(await mountedAt(dir)).toBe(true); // stale: its server is gone
    const again = await mount({ repo, branch: 'main' }, dir, { handleSignals: false });
    mounts.push(again);
    expect(await ok(`ls '${dir}'`)).toContain('kv');
    await again.unmount();
    expect(await mountedAt(dir)).toBe(false);
  });

  it('programs started by the serving process do not inherit /dev/fuse (one would keep a dead server\'s mount hanging)', async () => {
    const own = await readdir('/proc/self/fd');
    const mine = await Promise.all(own.map((fd) => import('node:fs/promises').then((f) => f.readlink(`/proc/self/fd/${fd}`).catch(() => ''))));
    expect(mine).toContain('/dev/fuse');
    expect(await ok('ls -l /proc/self/fd/')).not.toContain('/dev/fuse');
  });

  it('fusermount -u from outside ends the mount as unmount() does: last writes committed, then unmounted', async () => {
    const dir = join(tmp, 'outside-unmount');
    await repo.createBranch('ext', 'main');
    const x = await mount({ repo, branch: 'ext' }, dir, { handleSignals: false });
    mounts.push(x);
    const unmounted = new Promise<void>((done) => x.events.once('unmounted', () => done()));
    await ok(`cd '${dir}' && echo one > a.txt && cp a.txt b.txt && printf two >> b.txt && mkdir d && echo three > d/c.txt`);
    await ok(`fusermount -u '${dir}'`);
    await unmounted;
    expect(await mountedAt(dir)).toBe(false);
    const root = (await repo.readCommit(await repo.head('ext'))).root;
    expect(bytesToHex(root)).toBe(bytesToHex(x.root));
    expect(new TextDecoder().decode(await repo.fs.readFile(root, '/b.txt'))).toBe('one\ntwo');
    expect(new TextDecoder().decode(await repo.fs.readFile(root, '/d/c.txt'))).toBe('three\n');
    await x.unmount(); // already done: resolves at once
  });

  it('an unmounted mount and its store are garbage (fuse-native keeps its server object for good)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const dir = join(tmp, 'collected');
    const refs = await (async () => {
      const r = await Repo.open();
      await r.init();
      const x = await mount({ repo: r, branch: 'main' }, dir, { handleSignals: false });
      await ok(`head -c 1000000 /dev/urandom > '${dir}/f' && cat '${dir}/f' > /dev/null`);
      await x.unmount();
      return { mount: new WeakRef(x), store: new WeakRef(r.fs.store) };
    })();
    // WeakRef targets stay alive until the job that made them ends: collect on later turns.
    for (let i = 0; i < 5 && (refs.mount.deref() !== undefined || refs.store.deref() !== undefined); i++) {
      await new Promise((go) => setTimeout(go, 50));
      gc();
    }
    // Booleans: a failure must not print the mount (and its store).
    expect(refs.mount.deref() === undefined, 'the mount was collected').toBe(true);
    expect(refs.store.deref() === undefined, 'its store was collected').toBe(true);
  });

  it('unmount applies everything and leaves no mount', async () => {
    await writeFile(join(tmp, 'outside'), 'x');
    await m.unmount();
    expect(await mountedAt(mnt)).toBe(false);
    const head = await repo.head('main');
    expect(bytesToHex((await repo.readCommit(head)).root)).toBe(bytesToHex(m.root));
  });
});
