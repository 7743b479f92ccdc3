// cafs mount: a branch, snapshot or remote URL as a FUSE filesystem.
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { BRANCH_PREFIX, MemoryNameStore, OverlayBlobStore, Repo, pushBranch } from '@cafs/repo';
import { MemoryBlobStore, bytesToHex, parseHash } from '@cafs/kv';
import type { CommitPolicy } from '@cafs/fuse';
import { CliError } from '../errors.js';
import { openRepo, parseCompress, repoPath } from '../repo-open.js';
import { holdIfOwner } from '../holder.js';
import { importDirectory } from '../import.js';
import { mb, progressBar } from '../progress.js';
import { isUrlRef, openUrlRef } from '../remote-ref.js';
import { controlSocket, serveControl } from '../mount-control.js';
import { hex, out, json, example, type Context } from './shared.js';

export function mountCommand(program: Command, ctx: Context): void {
  const { globals } = ctx;
  example(
    program
      .command('mount')
      .argument('<ref>', 'a branch (read/write), or any ref or root hash (read-only)')
      .argument('<dir>', 'the mountpoint (created if missing; a stale mount there is cleared)')
      .description('mount a branch or a snapshot as a real filesystem (FUSE); changes through a branch mount are committed after a quiet period, on `cafs commit --mount` and at unmount')
      .option('--ro', 'read-only, even for a branch')
      .option('--import <dir>', 'with --memory: import this directory as branch main first')
      .option('--allow-other', 'let other users use the mount (FUSE allow_other; the kernel still checks modes and owners)')
      .option('--commit-every <s>', 'on a branch: commit once changes pause for this many seconds (at least once a minute under steady change)', '2')
      .option('--commit-each-change', 'on a branch: one commit per change (every chmod, every file written)')
      .option('--keep-last <n>', 'collect garbage as the mount goes, keeping the last N commits of each branch (for long-lived RAM disks)')
      .option('--gc-every <roots>', 'with --keep-last: collect after this many new roots', '5000')
      .option('--cache-size <mib>', 'for a URL: MiB of fetched blobs kept in memory', '256')
      .option('--poll <s>', 'for a branch URL: check this often whether the branch moved', '5')
      .option('--writable', 'for a branch URL: read/write; changes stay in this process until `cafs push --mount DIR` (and are pushed at unmount)')
      .option('--compress [zstd[:LEVEL]]', 'with --memory: keep blobs zstd-compressed in RAM (level 3 by default), a RAM disk that holds several times its memory')
      .option('--json', 'print the mount as a JSON line')
      .action(async (ref: string, dir: string, o: MountCliOptions) => {
        const keepLast = o.keepLast === undefined ? undefined : Number(o.keepLast);
        if (keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast > 0)) throw new CliError('--keep-last needs a positive integer');
        const everyRoots = Number(o.gcEvery);
        if (!(Number.isInteger(everyRoots) && everyRoots > 0)) throw new CliError(`--gc-every takes a positive number of roots (got ${JSON.stringify(o.gcEvery)})`);
        const quietS = Number(o.commitEvery);
        if (!(Number.isFinite(quietS) && quietS >= 0)) throw new CliError(`--commit-every takes a number of seconds >= 0 (got ${JSON.stringify(o.commitEvery)})`);
        const commits = o.commitEachChange ? { each: true } : { quietMs: quietS * 1000, maxDelayMs: Math.max(60_000, quietS * 1000) };
        const { mount } = await import('@cafs/fuse');
        if (isUrlRef(ref)) return o.writable ? mountUrlWritable(ref, dir, o, commits) : mountUrl(ref, dir, o);
        if (o.writable) throw new CliError('--writable is for a branch URL (a local branch mount is read/write already)');
        let repo: Repo;
        const compress = parseCompress(o.compress);
        if (compress !== undefined && !globals().memory) throw new CliError('--compress is for a RAM disk (--memory); a repository on disk is compressed from `cafs init --compress`');
        if (globals().memory) {
          repo = await Repo.open({ codecs: compress === undefined ? undefined : { compress } });
          await repo.init();
          if (o.import !== undefined) {
            const bar = await progressBar('importing [{bar}] {value}/{total} entries, {mb} MB', { json: o.json, payload: { mb: '0.0' } });
            const r = await importDirectory(repo, o.import, {
              onProgress: bar.active ? (done, total, bytes) => bar.update(done, total, { mb: mb(bytes) }) : undefined,
            }).finally(() => bar.stop());
            await repo.commit('main', r.root, `import ${o.import}`);
          }
        } else {
          if (o.import !== undefined) throw new CliError('--import needs --memory (use `cafs import` for a repository on disk)');
          repo = await openRepo(globals().repo, globals().store);
        }
        const isBranch = (await repo.branches()).some((b) => b.name === ref);
        const target = resolvePath(dir);
        const rw = isBranch && !o.ro;
        // Named before mounting: this process must not stat its own mount synchronously.
        const socket = rw ? controlSocket(target) : undefined;
        // Other cafs commands reach the repository through this process while it is mounted
        // (log, cat, import, branch...); the mounted branch cannot be deleted meanwhile. Started
        // before mounting (finding the repository stats paths, maybe through the mount itself),
        // and not beside the mount's own gc (--keep-last), which could not see their writes.
        const holder =
          globals().memory || globals().store !== undefined || keepLast !== undefined
            ? undefined
            : await holdIfOwner(repo, repoPath(globals().repo), { inUse: rw ? [ref] : [], holder: 'cafs mount' });
        const m = await (rw
          ? mount({ repo, branch: ref }, target, { allowOther: o.allowOther, commits, gc: keepLast === undefined ? undefined : { keepLast, everyRoots } })
          : mount((await repo.resolve(ref)).root, target, { repo, allowOther: o.allowOther })
        ).catch(async (err: unknown) => {
          await holder?.close();
          throw err;
        });
        const control = socket === undefined ? undefined : await serveControl(m, socket);
        const mode = rw ? `read/write on branch ${ref}, ${o.commitEachChange ? 'a commit per change' : `committed after ${quietS} s without changes`}` : 'read-only';
        if (o.json) json({ mountpoint: target, root: hex(m.root), mode });
        else out(`mounted ${hex(m.root)} at ${target} (${mode}); Ctrl-C or \`fusermount -u ${target}\` to unmount`);
        // The mount serves requests on this process until it is unmounted (signals unmount it).
        await new Promise<void>((done) => m.events.once('unmounted', () => done()));
        control?.close();
        await holder?.close();
        await repo.close();
      }),
    'cafs mount main /mnt/cafs\ncafs mount main /mnt/cafs --commit-every 30\ncafs mount v1.0 /mnt/release --ro\ncafs --memory mount main /mnt/ram --import ./site\ncafs --memory mount main /mnt/ram --compress',
  );
}

interface MountCliOptions {
  ro?: boolean;
  import?: string;
  json?: boolean;
  allowOther?: boolean;
  keepLast?: string;
  gcEvery?: string;
  commitEvery: string;
  commitEachChange?: boolean;
  cacheSize: string;
  poll: string;
  writable?: boolean;
  compress?: string | boolean;
}

/** `--cache-size` in bytes (a URL mount's cache of fetched blobs). */
function cacheBytesOf(o: MountCliOptions): number {
  const mib = Number(o.cacheSize);
  if (!(Number.isFinite(mib) && mib >= 1)) throw new CliError(`--cache-size takes a number of MiB, at least 1 (got ${JSON.stringify(o.cacheSize)})`);
  return mib * 1024 * 1024;
}

/**
 * A remote branch mounted read/write: reads fetch blobs as they are needed (as a read-only URL
 * mount), writes and commits stay in this process (an overlay over the remote), and `cafs push
 * --mount DIR` or the unmount sends them and moves the remote branch (fast-forward unless forced).
 */
async function mountUrlWritable(url: string, dir: string, o: MountCliOptions, commits: CommitPolicy): Promise<void> {
  const { mount } = await import('@cafs/fuse');
  const u = await openUrlRef(url, { cacheBytes: cacheBytesOf(o) });
  if (u.parsed.kind !== 'b') throw new CliError('--writable needs a branch URL: http://host:port/b/<branch>');
  if (u.path !== '/') throw new CliError('a URL mount takes a whole tree: .../b/<branch>');
  const branch = u.parsed.name;
  const repo = new Repo({ store: new OverlayBlobStore(new MemoryBlobStore(), u.store), names: new MemoryNameStore() });
  await repo.names.compareAndSwap(BRANCH_PREFIX + branch, undefined, parseHash(u.ref));
  const target = resolvePath(dir);
  const socket = controlSocket(target);
  const m = await mount({ repo, branch }, target, { allowOther: o.allowOther, commits, handleSignals: false });
  let pushed = u.ref;
  // One push at a time; each commits what the mount holds first.
  let pushing: Promise<unknown> = Promise.resolve();
  const push = (force: boolean): Promise<{ commit: string; detail: string }> => {
    const run = pushing.then(async () => {
      await m.commit().catch(() => undefined); // nothing to commit is fine; a failed commit shows in the push
      const p = await pushBranch(repo, u.remote, u.parsed.base, branch, { force });
      pushed = bytesToHex(p.new);
      return { commit: pushed, detail: p.upToDate ? 'up to date' : `${branch}: ${(p.old ? bytesToHex(p.old) : '(new)').slice(0, 12)} -> ${pushed.slice(0, 12)}; sent ${p.report.blobs} blobs, ${p.report.bytes} bytes` };
    });
    pushing = run.catch(() => undefined);
    return run;
  };
  const control = await serveControl(m, socket, { push });
  const stop = (): void => void m.unmount().catch(() => undefined);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const mode = `read/write on branch ${branch} of ${u.parsed.base}; \`cafs push --mount ${target}\` sends the changes`;
  if (o.json) json({ mountpoint: target, root: hex(m.root), mode });
  else out(`mounted ${hex(m.root)} at ${target} (${mode}); Ctrl-C or \`fusermount -u ${target}\` to unmount (which pushes)`);
  await new Promise<void>((done) => m.events.once('unmounted', () => done()));
  control.close();
  // The changes live only in this process: push what is left before it ends.
  const head = bytesToHex(await repo.head(branch));
  if (head !== pushed) {
    try {
      const r = await push(false);
      process.stderr.write(`pushed at unmount: ${r.detail}\n`);
    } catch (err) {
      process.stderr.write(`cafs: the changes of ${target} were not pushed (${(err as Error).message}); they are lost with this process\n`);
      process.exitCode = 1;
    }
  }
  await repo.close();
}

/** A remote root or branch mounted read-only without copying: blobs arrive as reads need them. */
async function mountUrl(url: string, dir: string, o: MountCliOptions): Promise<void> {
  const { mount } = await import('@cafs/fuse');
  const cacheBytes = cacheBytesOf(o);
  const pollS = Number(o.poll);
  if (!(Number.isFinite(pollS) && pollS > 0)) throw new CliError(`--poll takes a number of seconds above 0 (got ${JSON.stringify(o.poll)})`);
  const u = await openUrlRef(url, { cacheBytes });
  if (u.path !== '/') throw new CliError('a URL mount takes a whole tree: .../r/<root> or .../b/<branch>');
  const target = resolvePath(dir);
  const following = u.parsed.kind === 'b';
  const m = await mount((await u.repo.resolve(u.ref)).root, target, { repo: u.repo, allowOther: o.allowOther, cache: following ? false : undefined, handleSignals: false });
  const stop = (): void => void m.unmount().catch(() => undefined);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const mode = following ? `read-only, following branch ${u.parsed.name} of ${u.parsed.base}` : `read-only, from ${u.parsed.base}`;
  if (o.json) json({ mountpoint: target, root: hex(m.root), mode });
  else out(`mounted ${hex(m.root)} at ${target} (${mode}); blobs are fetched as they are read; Ctrl-C or \`fusermount -u ${target}\` to unmount`);
  let seen = u.ref;
  const timer = following
    ? setInterval(() => {
        u.head()
          .then(async (now) => {
            if (now === seen) return;
            seen = now;
            await m.checkout(now);
          })
          .catch((err: unknown) => process.stderr.write(`cafs: following ${u.parsed.name}: ${(err as Error).message}\n`));
      }, pollS * 1000)
    : undefined;
  await new Promise<void>((done) => m.events.once('unmounted', () => done()));
  if (timer) clearInterval(timer);
  process.stderr.write(`fetched ${u.store.fetchedBlobs} blobs, ${u.store.fetchedBytes} bytes\n`);
  await u.repo.close();
}
