// Real tools on a real branch mount: sqlite3, fio, rsync, a large directory, a file past 4 GiB,
// a deep tree. Every command runs as a child process, asynchronously: the FUSE server lives in
// this process, so a synchronous call into the mount would deadlock it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { mount, type CafsMount } from '../src/index.js';

// Off CI a missing tool skips its test with a warning; under CI (.ci/run installs them all)
// nothing is skipped, so a missing install fails loudly.
const CI = Boolean(process.env['CI']);
const HAVE_FUSE = existsSync('/dev/fuse') && existsSync('/usr/bin/fusermount');
const have = (tool: string): boolean => ['/usr/bin', '/bin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)));
const skip = (...needs: string[]): boolean => {
  const missing = needs.filter((t) => !have(t));
  if (!HAVE_FUSE) missing.push('/dev/fuse or fusermount');
  if (missing.length === 0 || CI) return false;
  console.warn(`@cafs/fuse tools test skipped: ${missing.join(', ')} missing (apt-get install ${missing.join(' ')}; .ci/run installs them)`);
  return true;
};

const here = fileURLToPath(new URL('.', import.meta.url));
const KV_SRC = resolve(here, '../../kv/src');
const MiB = 1024 * 1024;
const LONG = 600_000;

function sh(cmd: string, timeout = LONG): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile('bash', ['-c', cmd], { maxBuffer: 256 * MiB, timeout }, (e, stdout, stderr) => {
      done({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: String(stdout), err: String(stderr) });
    });
  });
}

async function ok(cmd: string, timeout = LONG): Promise<string> {
  const r = await sh(cmd, timeout);
  if (r.code !== 0) throw new Error(`${cmd.slice(0, 500)}\nfailed (${r.code}):\n${r.out.slice(-4000)}\n${r.err.slice(-4000)}`);
  return r.out;
}

async function mountedAt(dir: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((l) => l.split(' ')[4] === dir);
}

describe.skipIf(!HAVE_FUSE && !CI)('@cafs/fuse: real tools on a branch mount', () => {
  let tmp: string;
  let repo: Repo;
  let m: CafsMount;
  let mnt: string;

  /** Unmount the branch (which drops the kernel's caches of it) and mount it again. */
  async function remount(): Promise<void> {
    await m.unmount();
    expect(await mountedAt(mnt)).toBe(false);
    const head = await repo.head('main');
    expect(bytesToHex((await repo.readCommit(head)).root)).toBe(bytesToHex(m.root));
    m = await mount({ repo, branch: 'main' }, mnt, { handleSignals: false });
    expect(bytesToHex(await m.currentRoot())).toBe(bytesToHex((await repo.readCommit(head)).root));
  }

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cafs-fuse-tools-'));
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

  it.skipIf(skip('sqlite3'))('sqlite3: 10,000 rows in transactions and autocommit, integrity ok, intact after a remount', async () => {
    // 9,900 rows in three transactions, 100 autocommit inserts, in rollback-journal and WAL mode.
    const script = (mode: string): string => {
      const lines = [`PRAGMA journal_mode=${mode};`, 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, payload BLOB);', 'CREATE INDEX t_name ON t(name);'];
      for (let tx = 0; tx < 3; tx++) {
        lines.push('BEGIN;');
        for (let i = tx * 3300 + 1; i <= tx * 3300 + 3300; i++) lines.push(`INSERT INTO t VALUES(${i}, 'name-${i}', randomblob(100 + ${i % 200}));`);
        lines.push('COMMIT;');
      }
      for (let i = 9901; i <= 10000; i++) lines.push(`INSERT INTO t VALUES(${i}, 'name-${i}', randomblob(100));`);
      return lines.join('\n') + '\n';
    };
    const check = `PRAGMA integrity_check; SELECT count(*), sum(id), count(DISTINCT name) FROM t; SELECT name FROM t WHERE id = 4242;`;
    for (const [db, mode] of [['db.sqlite', 'delete'], ['wal.sqlite', 'wal']] as const) {
      await writeFile(join(tmp, `${db}.sql`), script(mode.toUpperCase()));
      expect(await ok(`sqlite3 '${mnt}/${db}' < '${tmp}/${db}.sql'`)).toBe(`${mode}\n`);
      expect(await ok(`sqlite3 '${mnt}/${db}' '${check}'`)).toBe('ok\n10000|50005000|10000\nname-4242\n');
      await ok(`cp '${mnt}/${db}' '${tmp}/${db}.copy'`);
    }
    // sqlite3 removed its journal and WAL files on close.
    expect((await ok(`ls -a '${mnt}'`)).split('\n').filter(Boolean).sort()).toEqual(['.', '..', 'db.sqlite', 'wal.sqlite']);
    const root = await m.currentRoot();
    for (const db of ['db.sqlite', 'wal.sqlite']) {
      expect(Buffer.from(await repo.fs.readFile(root, `/${db}`)).equals(await readFile(join(tmp, `${db}.copy`)))).toBe(true);
    }

    await remount();
    for (const db of ['db.sqlite', 'wal.sqlite']) {
      await ok(`cmp '${mnt}/${db}' '${tmp}/${db}.copy'`);
      expect(await ok(`sqlite3 '${mnt}/${db}' '${check}'`)).toBe('ok\n10000|50005000|10000\nname-4242\n');
      // And it keeps working as a database after the remount.
      await ok(`sqlite3 '${mnt}/${db}' "BEGIN; UPDATE t SET name = upper(name) WHERE id <= 5000; DELETE FROM t WHERE id > 9000; COMMIT; INSERT INTO t VALUES(20000, 'last', x'00ff');"`);
      expect(await ok(`sqlite3 '${mnt}/${db}' "PRAGMA integrity_check; SELECT count(*), sum(id) FROM t; SELECT name FROM t WHERE id = 4242; SELECT hex(payload) FROM t WHERE id = 20000;"`)).toBe(
        `ok\n9001|${(9000 * 9001) / 2 + 20000}\nNAME-4242\n00FF\n`,
      );
    }
  }, LONG);

  it.skipIf(skip('fio'))('fio: random writes verified (buffered and O_DIRECT), and verified again after a remount', async () => {
    type Job = { jobname: string; error: number; read: { io_kbytes: number }; write: { io_kbytes: number } };
    const fio = async (args: string): Promise<Job[]> => {
      const out = await ok(`fio --output-format=json --verify_state_save=0 ${args}`); // no state files in the cwd
      const jobs = (JSON.parse(out.slice(out.indexOf('{'))) as { jobs: Job[] }).jobs;
      for (const j of jobs) expect(j.error, `fio job ${j.jobname}`).toBe(0);
      return jobs;
    };
    await ok(`mkdir '${mnt}/fio'`);
    const job = `--name=t --directory='${mnt}/fio' --rw=randwrite --bs=4k --size=32m --verify=crc32c --ioengine=psync`;
    const [w] = await fio(`${job} --do_verify=1`);
    expect(w!.write.io_kbytes).toBe(32 * 1024);
    expect(w!.read.io_kbytes).toBe(32 * 1024); // every block read back and checked

    // Mixed reads and writes of varied sizes, bypassing the page cache, two jobs at once.
    const rw = await fio(
      `--name=rw --directory='${mnt}/fio' --rw=randrw --rwmixread=40 --bsrange=512-64k --size=8m --verify=md5 --do_verify=1 --direct=1 --ioengine=psync --numjobs=2`,
    );
    expect(rw).toHaveLength(2);
    for (const j of rw) expect(j.write.io_kbytes).toBeGreaterThan(0);

    // The kernel's page cache is gone after a remount: verify the first job's file from the mount.
    await remount();
    const [v] = await fio(`${job} --verify_only`);
    expect(v!.read.io_kbytes).toBe(32 * 1024);
    expect((await ok(`stat -c %s '${mnt}/fio/t.0.0'`)).trim()).toBe(String(32 * MiB));
    await ok(`rm -r '${mnt}/fio'`);
  }, LONG);

  it.skipIf(skip('rsync'))('rsync -c -a a real tree in: nothing left to do, diff -r clean, then only the changed file moves', async () => {
    const src = join(tmp, 'rsync-src');
    await ok(`cp -a '${KV_SRC}' '${src}'`);
    await writeFile(join(src, 'big.bin'), randomBytes(3 * MiB + 17));
    await writeFile(join(src, 'small.bin'), randomBytes(70_000));
    await ok(`cd '${src}' && mkdir -p sub/deeper && head -c 5 /dev/urandom > sub/deeper/tiny.bin && : > sub/empty && ln -s ../big.bin sub/link && chmod 640 small.bin && chmod 750 sub`);
    const dst = `${mnt}/rsync`;
    const rsync = (flags = ''): Promise<string> => ok(`rsync -c -a ${flags} '${src}/' '${dst}/'`);

    await rsync();
    expect(await rsync('--dry-run --itemize-changes')).toBe('');
    await ok(`diff -r --no-dereference '${src}' '${dst}'`);
    // Directories have no size in cafs (tmpfs and ext4 show theirs): compare the files' sizes.
    const listing = `find . -printf '%p %y %m %l\\n' | sort; find . -type f -printf '%p %s\\n' | sort`;
    expect(await ok(`cd '${dst}' && ${listing}`)).toBe(await ok(`cd '${src}' && ${listing}`));

    await ok(`echo '// changed' >> '${src}/tree/cursor.ts'`);
    const changed = (await rsync('--itemize-changes')).split('\n').filter(Boolean);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^>f\S* tree\/cursor\.ts$/);
    expect(await rsync('--dry-run --itemize-changes')).toBe('');
    await ok(`diff -r --no-dereference '${src}' '${dst}'`);
    const root = await m.currentRoot();
    expect(Buffer.from(await repo.fs.readFile(root, '/rsync/tree/cursor.ts')).equals(await readFile(join(src, 'tree/cursor.ts')))).toBe(true);
  }, LONG);

  it('a file past 4 GiB: sparse, read back at its offset, small on disk', async () => {
    const chunk = join(tmp, 'chunk.bin');
    await writeFile(chunk, randomBytes(2 * MiB));
    const f = `${mnt}/huge`;
    // 2 MiB of data at 4200 MiB, and 10 bytes straddling 2^32.
    await ok(`dd if='${chunk}' of='${f}' bs=1M count=2 seek=4200 conv=notrunc status=none`);
    await ok(`printf 0123456789 | dd of='${f}' bs=1 seek=$(( (1<<32) - 5 )) conv=notrunc status=none`);
    const size = 4202 * MiB;
    expect((await ok(`stat -c %s '${f}'`)).trim()).toBe(String(size));
    expect(Number((await ok(`du -k '${f}'`)).split(/\s/)[0])).toBeLessThanOrEqual(8 * 1024);

    const checkReads = async (): Promise<void> => {
      await ok(`dd if='${f}' bs=1M skip=4200 count=2 status=none | cmp - '${chunk}'`);
      expect(await ok(`dd if='${f}' bs=1 skip=$(( (1<<32) - 5 )) count=10 status=none`)).toBe('0123456789');
      await ok(`dd if='${f}' bs=1M skip=4199 count=1 status=none | cmp -n ${MiB} - /dev/zero`); // the hole reads as zeros
      await ok(`dd if='${f}' bs=1M skip=4202 count=1 status=none | cmp -n 1 - /dev/null`); // and the end is the end
    };
    await checkReads();
    const root = await m.currentRoot();
    expect(Buffer.from(await repo.fs.read(root, '/huge', { offset: 4200 * MiB, length: 2 * MiB })).equals(await readFile(chunk))).toBe(true);
    expect(new TextDecoder().decode(await repo.fs.read(root, '/huge', { offset: 2 ** 32 - 5, length: 10 }))).toBe('0123456789');
    expect(Number((await repo.fs.stat(root, '/huge')).size)).toBe(size);

    // truncate far past 4 GiB, then write there through an offset that needs 64 bits.
    await ok(`truncate -s 6G '${mnt}/huge2' && printf tail | dd of='${mnt}/huge2' bs=1 seek=$(( 5 * (1<<30) + 12345 )) conv=notrunc status=none`);
    expect((await ok(`stat -c %s '${mnt}/huge2'`)).trim()).toBe(String(6 * 1024 * MiB));
    expect(await ok(`dd if='${mnt}/huge2' bs=1 skip=$(( 5 * (1<<30) + 12345 )) count=4 status=none`)).toBe('tail');
    expect(Number((await ok(`du -k '${mnt}/huge2'`)).split(/\s/)[0])).toBeLessThanOrEqual(1024);

    await remount();
    await checkReads();
    expect(await ok(`dd if='${mnt}/huge2' bs=1 skip=$(( 5 * (1<<30) + 12345 )) count=4 status=none`)).toBe('tail');
    await ok(`rm '${f}' '${mnt}/huge2'`);
  }, LONG);

  it('a tree 200 levels deep: mkdir -p, write and read at the bottom, find, rm -r', async () => {
    const rel = Array.from({ length: 200 }, (_, i) => `d${i}`).join('/');
    const data = randomBytes(100_000);
    await writeFile(join(tmp, 'deep.bin'), data);
    await ok(`mkdir -p '${mnt}/deep/${rel}'`);
    await ok(`cp '${tmp}/deep.bin' '${mnt}/deep/${rel}/file' && cmp '${mnt}/deep/${rel}/file' '${tmp}/deep.bin'`);
    // Walking down one directory at a time works too.
    expect(await ok(`cd '${mnt}/deep' && for i in $(seq 0 199); do cd d$i || exit 1; done && pwd && wc -c < file`)).toBe(`${mnt}/deep/${rel}\n100000\n`);
    expect(await ok(`find '${mnt}/deep' -type d | wc -l`)).toBe('201\n');
    expect(await ok(`find '${mnt}/deep' -type f`)).toBe(`${mnt}/deep/${rel}/file\n`);
    const root = await m.currentRoot();
    expect(Buffer.from(await repo.fs.readFile(root, `/deep/${rel}/file`)).equals(data)).toBe(true);

    // Whole paths are at most PATH_MAX (4096) bytes in cafs (docs/format.md): deeper is refused
    // cleanly with ENAMETOOLONG, and the mount goes on working.
    const long = Array.from({ length: 200 }, (_, i) => `level-${String(i).padStart(3, '0')}-abcdefghijklmnopqrst`).join('/');
    const r = await sh(`mkdir -p '${mnt}/long/${long}'`);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('File name too long');

    await ok(`rm -r '${mnt}/deep' '${mnt}/long'`);
    expect(await ok(`ls -A '${mnt}'`)).not.toMatch(/deep|long/);
  }, LONG);

  // Each create is a root and a commit: 100,000 creates take about a minute here (2-core
  // machine) and the mount holds ~2.3 GB (every root is kept: no gc option). CAFS_FUSE_MANY=N
  // runs another size.
  const MANY = Number(process.env['CAFS_FUSE_MANY'] ?? 100_000);
  it.skipIf(skip('perl'))(`a directory of ${MANY} entries: ls, find, stat, and the fs API agree`, async () => {
    const dir = `${mnt}/many`;
    await ok(`mkdir '${dir}'`);
    await ok(`perl -e 'for my $i (0 .. $ARGV[1] - 1) { open(my $f, ">", sprintf("%s/f%06d", $ARGV[0], $i)) or die "f$i: $!" }' '${dir}' ${MANY}`);
    expect(await ok(`ls '${dir}' | wc -l`)).toBe(`${MANY}\n`);
    expect(await ok(`find '${dir}' -type f | wc -l`)).toBe(`${MANY}\n`);
    expect(await ok(`ls -f '${dir}' | sort | uniq -d`)).toBe(''); // no name listed twice
    const picks = [0, MANY - 1, ...Array.from({ length: 8 }, () => Math.floor(Math.random() * MANY))];
    const names = picks.map((i) => `f${String(i).padStart(6, '0')}`);
    expect(await ok(`cd '${dir}' && stat -c '%n %s %F' ${names.join(' ')}`)).toBe(names.map((n) => `${n} 0 regular empty file\n`).join(''));
    const missing = await sh(`stat '${dir}/f${MANY}'`);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('No such file or directory');
    const listed = await repo.fs.readdir(await m.currentRoot(), '/many');
    expect(listed).toHaveLength(MANY);
    const want = Array.from({ length: MANY }, (_, i) => `f${String(i).padStart(6, '0')}`);
    expect([...listed].sort()).toEqual(want);
  }, LONG);
});
