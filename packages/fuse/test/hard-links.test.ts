// Hard links through a real branch mount, with real tools: ln and stat, writes through one name
// read through another, cp -al, rsync -aH and tar both ways, git clone --local, pnpm's store, a
// name unlinked or renamed while open, and random sequences of link, unlink, rename and writes
// run on tmpfs and on the mount side by side. Every command runs in a child process,
// asynchronously (the FUSE server lives in this process: a synchronous call into the mount would
// deadlock it).
//
// The kernel caches attributes per name for the attribute timeout (1 s on a branch mount):
// after a link or unlink, another name of the same file may show its old link count until then
// (docs/fuse.md). `stat --cached=never` (statx with AT_STATX_FORCE_SYNC) asks the mount, which
// answers right at once; listings compared after `PAST_ATTR_CACHE` see the mount's answers too.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repo } from '@cafs/repo';
import { mount, type CafsMount } from '../src/index.js';

const CI = Boolean(process.env['CI']);
const HAVE_FUSE = existsSync('/dev/fuse') && existsSync('/usr/bin/fusermount');
const have = (tool: string): boolean => ['/usr/bin', '/bin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)));
// Off CI a missing tool skips its test with a warning; under CI nothing is skipped.
const skip = (...needs: string[]): boolean => {
  const missing = needs.filter((t) => !have(t));
  if (!HAVE_FUSE) missing.push('/dev/fuse or fusermount');
  if (missing.length === 0 || CI) return false;
  console.warn(`@cafs/fuse hard-link test skipped: ${missing.join(', ')} missing`);
  return true;
};

const here = fileURLToPath(new URL('.', import.meta.url));
const KV_SRC = resolve(here, '../../kv/src');
const LONG = 300_000;
/** Past the kernel's attribute cache of the names a change did not go through (1 s). */
const PAST_ATTR_CACHE = 'sleep 1.2';

function sh(cmd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile('bash', ['-c', cmd], { maxBuffer: 64 << 20, timeout: LONG }, (e, stdout, stderr) => {
      done({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: String(stdout), err: String(stderr) });
    });
  });
}

async function ok(cmd: string): Promise<string> {
  const r = await sh(cmd);
  if (r.code !== 0) throw new Error(`${cmd.slice(0, 600)}\nfailed (${r.code}):\n${r.out.slice(-3000)}\n${r.err.slice(-3000)}`);
  return r.out;
}

async function mountedAt(dir: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((l) => l.split(' ')[4] === dir);
}

/**
 * A tree's files as tools see them: path, link count, size, mode and content hash of each file,
 * then its link groups (the paths sharing an inode number, one group a line).
 */
const SIG =
  `sig() { ( cd "$1" && find . -type f -printf '%p %n %s %m ' -exec sh -c 'md5sum < "$1" | cut -c1-8' _ {} \\; | sort && ` +
  `echo groups: && find . -type f -printf '%i %p\\n' | sort -k2 | awk '{ g[$1] = g[$1] " " $2 } END { for (k in g) print g[k] }' | sort ); }`;
const sig = (dir: string): Promise<string> => ok(`${SIG}; sig '${dir}'`);

/** A tree with link groups across directories (3 names, 2 names, an empty file's 2), singles and a symlink. */
async function linkedTree(dir: string): Promise<void> {
  await ok(
    `mkdir -p '${dir}/a/sub' '${dir}/b' && cd '${dir}' && head -c 100000 /dev/urandom > a/one && ln a/one a/sub/one-again && ln a/one b/one-more && ` +
      `printf two > b/two && ln b/two a/two && : > empty && ln empty b/empty && printf solo > a/solo && ln -s one a/sym && chmod 640 a/one && chmod 755 b/two`,
  );
}

/** The link groups a `sig` lists, as sets of paths. */
const groupsOf = (s: string): string[] =>
  s
    .slice(s.indexOf('groups:\n') + 8)
    .trim()
    .split('\n')
    .map((g) => g.trim())
    .filter((g) => g.includes(' '));

describe.skipIf(!HAVE_FUSE && !CI)('@cafs/fuse: hard links on a branch mount', () => {
  let tmp: string;
  let repo: Repo;
  let m: CafsMount;
  let mnt: string;

  beforeAll(async () => {
    // The trees compared with the mount live on tmpfs.
    tmp = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cafs-fuse-links-'));
    mnt = join(tmp, 'mnt');
    repo = await Repo.open();
    await repo.init();
    m = await mount({ repo, branch: 'main' }, mnt, { handleSignals: false });
  });

  afterAll(async () => {
    await m?.unmount().catch(() => undefined);
    if (mnt && (await mountedAt(mnt))) await sh(`fusermount -uz '${mnt}'`);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('ln: both names show the same inode number and a link count of 2, the root is inode 1; link(2) errors as on Linux', async () => {
    await ok(`cd '${mnt}' && mkdir ln && printf hello > ln/a && ln ln/a ln/b`);
    // The new name is fresh in the kernel; the mount answers right for both at once.
    const [a, b] = (await ok(`cd '${mnt}/ln' && stat --cached=never -c '%h %i' a b`)).trim().split('\n');
    expect(a).toBe(b);
    expect(a!.split(' ')[0]).toBe('2');
    expect((await ok(`cd '${mnt}/ln' && stat -c '%h %i' b`)).trim()).toBe(a);
    await ok(PAST_ATTR_CACHE);
    expect((await ok(`cd '${mnt}/ln' && stat -c '%h %i' a b`)).trim().split('\n')).toEqual([a, b]);
    expect((await ok(`stat -c %i '${mnt}'`)).trim()).toBe('1');
    expect(await ok(`cd '${mnt}/ln' && find . -samefile a | sort`)).toBe('./a\n./b\n');
    expect(await ok(`cd '${mnt}/ln' && find . -inum ${a!.split(' ')[1]} | sort`)).toBe('./a\n./b\n');
    // Counted once by du, as on any filesystem.
    expect(await ok(`cd '${mnt}/ln' && du -b --apparent-size a b | cut -f1`)).toBe('5\n');

    // A third name; unlink one: the others keep the file, their number and the content.
    await ok(`cd '${mnt}/ln' && ln b c && rm a`);
    const bc = (await ok(`cd '${mnt}/ln' && stat --cached=never -c '%h %i' b c`)).trim().split('\n');
    expect(bc).toEqual([`2 ${a!.split(' ')[1]}`, `2 ${a!.split(' ')[1]}`]);
    expect(await ok(`cat '${mnt}/ln/c'`)).toBe('hello');

    // link(2)'s errors: the new name exists, a directory, a missing source, a name in a missing directory.
    const errs = await sh(
      `cd '${mnt}/ln' && mkdir d; for args in 'b c' 'd e' 'nope f' 'b nodir/f'; do link $args 2>&1 | sed 's/.*: //'; done`,
    );
    expect(errs.out.trim().split('\n')).toEqual(['File exists', 'Operation not permitted', 'No such file or directory', 'No such file or directory']);
    // Symbolic links are not followed: the new name is a second name of the symlink.
    await ok(`cd '${mnt}/ln' && ln -s c sym && ln -P sym sym2 && test "$(readlink sym2)" = c && test "$(stat --cached=never -c %h sym)" = 2`);
    // And the tree agrees: the fs API sees one inode behind both names.
    const root = await m.currentRoot();
    const [sb, sc] = await Promise.all([repo.fs.lstat(root, '/ln/b'), repo.fs.lstat(root, '/ln/c')]);
    expect(sb.ino).toBe(sc.ino);
    expect(sb.nlink).toBe(2);
    await ok(`rm -r '${mnt}/ln'`);
  });

  it('a write through one name is read through the other at once: appends, overwrites, truncation, an open descriptor', async () => {
    await ok(`cd '${mnt}' && mkdir rw && printf one > rw/a && ln rw/a rw/b && cat rw/a rw/b > /dev/null`);
    expect(await ok(`cd '${mnt}/rw' && printf ' two' >> a && cat b`)).toBe('one two');
    expect(await ok(`cd '${mnt}/rw' && printf XYZ | dd of=b bs=1 seek=1 conv=notrunc status=none && cat a`)).toBe('oXYZtwo');
    expect(await ok(`cd '${mnt}/rw' && truncate -s 2 a && cat b`)).toBe('oX');
    expect(await ok(`cd '${mnt}/rw' && printf longer > b && cat a`)).toBe('longer');
    // A descriptor open on one name reads what is written through the other.
    expect(await ok(`cd '${mnt}/rw' && exec 3<b && printf ' still' >> a && cat <&3`)).toBe('longer still');
    // A file written, then linked while still open for writing: the new name has what was written.
    expect(await ok(`cd '${mnt}/rw' && exec 4>c && printf 'early' >&4 && ln c d && printf ' late' >&4 && cat d && exec 4>&- && printf / && cat c`)).toBe('early late/early late');
    // chmod through one name is the inode's.
    await ok(`cd '${mnt}/rw' && chmod 600 a`);
    expect((await ok(`stat --cached=never -c %a '${mnt}/rw/b'`)).trim()).toBe('600');
    const root = await m.currentRoot();
    expect(new TextDecoder().decode(await repo.fs.readFile(root, '/rw/b'))).toBe('longer still');
    await ok(`rm -r '${mnt}/rw'`);
  });

  it('a name unlinked while open: the descriptor keeps the file, shared with its other names; renames of those are followed', async () => {
    await ok(`cd '${mnt}' && mkdir open && printf one > open/a && ln open/a open/b`);
    // rm a while open: libfuse hides it; the descriptor now reaches the file through b.
    const out = await ok(
      `cd '${mnt}/open' && exec 3<>a && rm a && ! test -e a && cat <&3 && printf ' two' >&3 && printf / && cat b && ` +
        // b renamed while the descriptor is open: it follows.
        `mv b c && printf ' three' >&3 && printf / && cat c && ` +
        // c, the last name, removed too: the descriptor keeps the file alone until closed.
        `rm c && printf ' four' >&3 && printf / && cat /proc/self/fd/3 && printf / && ls -A`,
    );
    expect(out).toBe('one/one two/one two three/one two three four/');
    expect(await ok(`ls -A '${mnt}/open'`)).toBe('');
    // Two descriptors on two names, both names removed: one file, seen through either.
    const two = await ok(
      `cd '${mnt}/open' && printf x > p && ln p q && exec 5>>p 6<q && rm p q && printf y >&5 && cat /proc/self/fd/6 && printf / && ls -A`,
    );
    expect(two).toBe('xy/');
    // Replaced by rename while open, with another name left: that name keeps the old file.
    const replaced = await ok(
      `cd '${mnt}/open' && printf old > t && ln t keep && printf new > incoming && exec 7<t && mv incoming t && cat t && printf / && cat <&7 && printf / && cat keep`,
    );
    expect(replaced).toBe('new/old/old');
    expect(await ok(`ls -A '${mnt}/open' | sort`)).toBe('keep\nt\n');
    expect(await ok(`ls -A '${mnt}'`)).not.toContain('.fuse_hidden');
    await ok(`rm -r '${mnt}/open'`);
  });

  it('rename of one name keeps the link; rename onto another name of the same file does nothing', async () => {
    await ok(`cd '${mnt}' && mkdir mv && printf data > mv/a && ln mv/a mv/b && mkdir mv/sub && mv mv/b mv/sub/c`);
    const [a, c] = (await ok(`cd '${mnt}/mv' && stat --cached=never -c '%h %i' a sub/c`)).trim().split('\n');
    expect(a).toBe(c);
    expect(a!.startsWith('2 ')).toBe(true);
    expect(await ok(`cd '${mnt}/mv' && printf more >> sub/c && cat a`)).toBe('datamore');
    // rename(2) of a name onto another name of the same inode: both stay (POSIX); mv refuses it itself.
    await ok(`cd '${mnt}/mv' && perl -e 'rename("a", "sub/c") or die "$!"'`);
    expect(await ok(`cd '${mnt}/mv' && ls a sub/c && stat --cached=never -c %h a`)).toBe('a\nsub/c\n2\n');
    // A directory holding a name renamed: the link holds.
    await ok(`cd '${mnt}/mv' && mv sub moved && printf '!' >> a`);
    expect(await ok(`cd '${mnt}/mv' && cat moved/c && stat --cached=never -c %h moved/c`)).toBe('datamore!2\n');
    await ok(`rm -r '${mnt}/mv'`);
  });

  it('cp -al of a tree inside the mount: every file a second name of the original', async () => {
    await ok(`cp -a '${KV_SRC}' '${mnt}/kv' && cp -al '${mnt}/kv' '${mnt}/kv-links'`);
    await ok(`diff -r '${mnt}/kv' '${mnt}/kv-links'`);
    await ok(PAST_ATTR_CACHE);
    const pairs = await ok(`cd '${mnt}' && find kv -type f | while read f; do echo "$(stat -c '%h %i' "$f") $(stat -c '%h %i' "kv-links/\${f#kv/}")"; done`);
    const lines = pairs.trim().split('\n');
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) {
      const [n1, i1, n2, i2] = l.split(' ');
      expect([n1, n2, i1]).toEqual(['2', '2', i2]);
    }
    // All inode numbers distinct across the originals.
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(lines.length);
    // A change through one tree shows in the other (read at once; the other name's size, which
    // tail seeks by, is the kernel's cached one until the attribute timeout).
    await ok(`echo '// changed' >> '${mnt}/kv/index.ts'`);
    expect(await ok(`cat '${mnt}/kv-links/index.ts' | tail -n 1`)).toBe('// changed\n');
    await ok(`rm -r '${mnt}/kv' '${mnt}/kv-links'`);
  }, LONG);

  it.skipIf(skip('rsync'))('rsync -aH into the mount and out of it keeps the link groups', async () => {
    const src = join(tmp, 'rsync-src');
    await linkedTree(src);
    const want = await sig(src);
    expect(groupsOf(want)).toHaveLength(3);
    await ok(`rsync -aH '${src}/' '${mnt}/rsync/'`);
    await ok(PAST_ATTR_CACHE);
    expect(await sig(`${mnt}/rsync`)).toBe(want);
    expect(await ok(`cd '${mnt}/rsync' && readlink a/sym`)).toBe('one\n');
    expect(await ok(`rsync -aH --dry-run --itemize-changes '${src}/' '${mnt}/rsync/'`)).toBe('');
    await ok(`rsync -aH '${mnt}/rsync/' '${tmp}/rsync-out/'`);
    expect(await sig(`${tmp}/rsync-out`)).toBe(want);
    await ok(`rm -r '${mnt}/rsync'`);
  }, LONG);

  it.skipIf(skip('tar'))('tar with hard links both ways: a tarball from tmpfs extracted into the mount, tar c of the mount extracted to tmpfs', async () => {
    const src = join(tmp, 'tar-src');
    await linkedTree(src);
    const want = await sig(src);
    await ok(`tar -C '${src}' -cf '${tmp}/links.tar' .`);
    // The tarball stores the second and third names as hard links.
    expect((await ok(`tar -tvf '${tmp}/links.tar' | grep -c ' link to '`)).trim()).toBe('4');
    await ok(`mkdir '${mnt}/tar' && tar -C '${mnt}/tar' -xpf '${tmp}/links.tar'`);
    await ok(PAST_ATTR_CACHE);
    expect(await sig(`${mnt}/tar`)).toBe(want);
    await ok(`tar -C '${mnt}/tar' -cf '${tmp}/from-mount.tar' .`);
    expect((await ok(`tar -tvf '${tmp}/from-mount.tar' | grep -c ' link to '`)).trim()).toBe('4');
    await ok(`mkdir '${tmp}/tar-out' && tar -C '${tmp}/tar-out' -xpf '${tmp}/from-mount.tar'`);
    expect(await sig(`${tmp}/tar-out`)).toBe(want);
    // And a tarball made in the mount, of the mount, extracted in the mount.
    await ok(`tar -C '${mnt}/tar' -cf '${mnt}/again.tar' . && mkdir '${mnt}/tar2' && tar -C '${mnt}/tar2' -xpf '${mnt}/again.tar'`);
    await ok(PAST_ATTR_CACHE);
    expect(await sig(`${mnt}/tar2`)).toBe(want);
    await ok(`rm -r '${mnt}/tar' '${mnt}/tar2' '${mnt}/again.tar'`);
  }, LONG);

  it.skipIf(skip('git'))('git clone --local into the mount hard-links the objects; git fsck and git log are clean', async () => {
    const src = join(tmp, 'git-src');
    const git = `git -c user.email=t@example.com -c user.name=t -c init.defaultBranch=main`;
    await ok(`${git} init -q '${src}' && cd '${src}' && for i in $(seq 1 20); do echo "line $i" > f$i && ${git} add f$i && ${git} commit -qm "commit $i"; done`);
    // From outside the mount (another filesystem: git copies), then from a repository in the
    // mount (git hard-links its objects; its own object writes link a temporary file too).
    await ok(`git clone -q '${src}' '${mnt}/origin'`);
    await ok(`git clone -q --local '${mnt}/origin' '${mnt}/clone'`);
    for (const dir of ['origin', 'clone']) {
      await ok(`cd '${mnt}/${dir}' && git fsck --strict --no-progress`);
      expect((await ok(`cd '${mnt}/${dir}' && git log --oneline | wc -l`)).trim()).toBe('20');
    }
    await ok(PAST_ATTR_CACHE);
    const linked = Number((await ok(`cd '${mnt}/clone/.git/objects' && find . -type f -links 2 | wc -l`)).trim());
    expect(linked).toBeGreaterThanOrEqual(60); // 20 commits, 20 trees, 20 blobs
    expect(await ok(`cd '${mnt}/clone/.git/objects' && for f in $(find . -type f -links 2 | head -5); do test "$(stat -c %i "$f")" = "$(stat -c %i "../../../origin/.git/objects/$f")" || echo differs "$f"; done`)).toBe('');
    // Committing and repacking in either keeps both whole.
    await ok(`cd '${mnt}/clone' && echo changed > f1 && ${git} commit -qam more && git fsck --no-progress && cd '${mnt}/origin' && git gc -q && git fsck --no-progress`);
    expect((await ok(`cd '${mnt}/clone' && git log --oneline | wc -l && git status --porcelain`)).trim()).toBe('21');
    await ok(`rm -rf '${mnt}/origin' '${mnt}/clone'`);
  }, LONG);

  it.skipIf(skip('pnpm', 'npm'))('pnpm: a package installed from a tarball into a project on the mount, hard-linked from a store on the mount', async () => {
    const pkg = join(tmp, 'pkg');
    await ok(
      `mkdir -p '${pkg}' && cd '${pkg}' && echo '{"name":"cafs-tiny-pkg","version":"1.0.0","main":"index.js"}' > package.json && ` +
        `echo 'module.exports = { answer: 42, name: require("./package.json").name };' > index.js && npm pack --silent > /dev/null`,
    );
    const tarball = join(pkg, 'cafs-tiny-pkg-1.0.0.tgz');
    const pnpm = `pnpm --store-dir '${mnt}/store' --package-import-method hardlink --offline --reporter silent`;
    for (const p of ['p1', 'p2']) {
      await ok(`mkdir '${mnt}/${p}' && cd '${mnt}/${p}' && echo '{"name":"${p}","version":"0.0.0","private":true}' > package.json && ${pnpm} add '${tarball}'`);
      expect(await ok(`cd '${mnt}/${p}' && node -e 'const p = require("cafs-tiny-pkg"); console.log(p.answer, p.name)'`)).toBe('42 cafs-tiny-pkg\n');
    }
    await ok(PAST_ATTR_CACHE);
    // Both projects' files are names of the store's.
    const index = await ok(`cd '${mnt}' && find p1/node_modules/.pnpm p2/node_modules/.pnpm -name index.js -path '*cafs-tiny-pkg/index.js' -printf '%n %i\\n'`);
    const [x, y] = index.trim().split('\n');
    expect(x).toBe(y);
    expect(x!.startsWith('3 ')).toBe(true);
    expect((await ok(`find '${mnt}/store' -type f -inum ${x!.split(' ')[1]} | wc -l`)).trim()).toBe('1');
    // Reinstalling from the store alone (offline, frozen lockfile) works too.
    await ok(`cd '${mnt}/p2' && rm -rf node_modules && ${pnpm} install --frozen-lockfile && node -e 'require("cafs-tiny-pkg")'`);
    await ok(`rm -rf '${mnt}/p1' '${mnt}/p2' '${mnt}/store'`);
  }, LONG);

  it('random sequences of link, unlink, rename and writes end as on tmpfs: same files, contents, link groups and errors', async () => {
    // A small PRNG (sfc32), so a failing sequence can be run again by its seed.
    const prng = (seed: number): (() => number) => {
      let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
      return () => {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        return (t >>> 0) / 2 ** 32;
      };
    };
    const names = ['a', 'b', 'c', 'd/e', 'd/f', 'g/h', 'g/i/j'];
    // CAFS_FUSE_LINK_SEEDS=N runs seeds 1..N.
    const seeds = Array.from({ length: Number(process.env['CAFS_FUSE_LINK_SEEDS'] ?? 4) }, (_, i) => i + 1);
    for (const seed of seeds) {
      const rnd = prng(seed);
      const pick = (): string => names[Math.floor(rnd() * names.length)]!;
      const lines = ['mkdir -p d g/i', 'printf 0 > a', 'printf 1 > d/e'];
      for (let i = 0; i < 60; i++) {
        const r = rnd();
        const [x, y] = [pick(), pick()];
        // Every command's outcome is part of the result (its errno as the shell reports it).
        const cmd =
          r < 0.3 ? `ln ${x} ${y}` : r < 0.45 ? `rm ${x}` : r < 0.6 ? `perl -e 'rename("${x}", "${y}") or die "$!\\n"'` : r < 0.85 ? `printf ${i}, >> ${x}` : `truncate -s ${Math.floor(rnd() * 4)} ${x}`;
        lines.push(`{ ${cmd}; } 2>/dev/null && echo "${i} ok" || echo "${i} failed"`);
      }
      const script = join(tmp, `ops-${seed}.sh`);
      await writeFile(script, lines.join('\n') + '\n');
      const there = join(tmp, `ops-${seed}`);
      const want = await ok(`mkdir '${there}' && cd '${there}' && bash '${script}'`);
      const got = await ok(`mkdir '${mnt}/ops-${seed}' && cd '${mnt}/ops-${seed}' && bash '${script}'`);
      expect(got, `seed ${seed}`).toBe(want);
      await ok(PAST_ATTR_CACHE);
      expect(await sig(`${mnt}/ops-${seed}`), `seed ${seed}`).toBe(await sig(there));
    }
  }, LONG);
});
