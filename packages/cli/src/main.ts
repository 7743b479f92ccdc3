#!/usr/bin/env node
// The `cafs` command.
import { realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve as resolvePath } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { bytesToHex, type Hash } from '@cafs/kv';
import { Repo, RepoError, type Commit } from '@cafs/repo';
import { Fs, type FsChange, type Info } from '@cafs/fs';
import { CliError, describeError } from './errors.js';
import { REPO_DIR, openRepo, repoPath } from './repo-open.js';
import { importDirectory } from './import.js';
import { exportAtomic, exportPlain } from './export.js';
import { fsck } from './fsck.js';
import { remoteCommands } from './commands/remote.js';
import { isUrlRef, openUrlRef, parseUrlRef } from './remote-ref.js';
import { holdIfOwner } from './holder.js';

const hex = (h: Hash): string => bytesToHex(h);
const out = (s: string): void => {
  process.stdout.write(s + '\n');
};
const json = (v: unknown): void => out(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x instanceof Uint8Array ? hex(x) : x), 2));

interface Global {
  repo?: string;
  memory?: boolean;
  store?: string;
}

let program: Command;

function globals(): Global {
  return program.opts<Global>();
}

/** Opens the repository, runs `fn`, closes it. */
async function withRepo<T>(fn: (repo: Repo) => Promise<T>): Promise<T> {
  const repo = await openRepo(globals().repo, globals().store);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

/**
 * Runs `fn` on the repository a REF[:PATH] spec reads from: for a URL a `cafs serve` answers
 * (http://host:port/r/<root>/path or .../b/<branch>/path), that server, read lazily; else ours.
 */
async function withSpec<T>(spec: string, fn: (repo: Repo, ref: string, path: string) => Promise<T>): Promise<T> {
  if (isUrlRef(spec)) {
    const u = await openUrlRef(spec);
    try {
      return await fn(u.repo, u.ref, u.path);
    } finally {
      await u.repo.close();
    }
  }
  const { ref, path } = splitRef(spec);
  return withRepo((repo) => fn(repo, ref, path));
}

function example(cmd: Command, text: string): Command {
  return cmd.addHelpText('after', `\nExample:\n  ${text.split('\n').join('\n  ')}`);
}

const modeString = (info: { type: string; mode: number }): string => {
  const t = ({ directory: 'd', symlink: 'l', fifo: 'p', socket: 's' } as Record<string, string>)[info.type] ?? '-';
  const m = info.mode & 0o777;
  const rwx = (b: number): string => (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-');
  return t + rwx(m >> 6) + rwx((m >> 3) & 7) + rwx(m & 7);
};
const timeString = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').slice(0, 19);

function splitRef(spec: string): { ref: string; path: string } {
  const colon = spec.indexOf(':');
  if (colon < 0) return { ref: spec, path: '/' };
  return { ref: spec.slice(0, colon), path: spec.slice(colon + 1) || '/' };
}

async function resolveRoot(repo: Repo, ref: string): Promise<{ root: Hash; commit: Hash | undefined }> {
  const r = await repo.resolve(ref);
  return { root: r.root, commit: r.commit };
}

const normPath = (p: string): string => {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return '/' + parts.join('/');
};

function summarizeInfo(info: Info | undefined): Record<string, unknown> | undefined {
  if (info === undefined) return undefined;
  return { type: info.type, mode: info.mode, size: Number(info.size), mtimeNs: String(info.mtimeNs), target: info.target ? new TextDecoder().decode(info.target) : undefined };
}

function build(): Command {
  program = new Command('cafs')
    .description('cafs: a content-addressed, immutable filesystem with branches, history and merge')
    .option('--repo <dir>', 'the repository (default: ./.cafs, found by walking up)')
    .option('--store <url>', 'keep the repository on a Redis Cluster: redis://[user:password@]host:port[,host:port...] or rediss://... (default: $CAFS_STORE)', process.env['CAFS_STORE'])
    .option('--memory', 'serve (or mount) a RAM-only repository instead (see serve --import)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addHelpText('after', `\nExample:\n  cafs init && cafs import ./site -m "first" && cafs ls -l main`);

  example(
    program
      .command('init')
      .description('create a repository in ./.cafs (or --repo DIR) with a branch "main"')
      .option('-b, --branch <name>', 'first branch', 'main')
      .option('--json', 'print the result as JSON')
      .action(async (o: { branch: string; json?: boolean }) => {
        const g = globals();
        if (g.store !== undefined) {
          const repo = await openRepo(undefined, g.store);
          try {
            if ((await repo.branches()).length > 0) throw new CliError(`a repository exists already on ${g.store.replace(/\/\/[^@/]*@/, '//')}`);
            const commit = await repo.init({ branch: o.branch });
            if (o.json) return json({ store: 'redis', branch: o.branch, commit: hex(commit) });
            out(`initialized a repository on the Redis Cluster (branch ${o.branch})`);
            return;
          } finally {
            await repo.close();
          }
        }
        const dir = g.repo !== undefined ? (g.repo.endsWith(REPO_DIR) ? resolvePath(g.repo) : join(resolvePath(g.repo), REPO_DIR)) : join(process.cwd(), REPO_DIR);
        await mkdir(dir, { recursive: true });
        const repo = await Repo.open({ path: dir });
        try {
          if ((await repo.branches()).length > 0) throw new CliError(`a repository exists already in ${dir}`);
          const commit = await repo.init({ branch: o.branch });
          if (o.json) json({ path: dir, branch: o.branch, commit: hex(commit) });
          else out(`initialized an empty cafs repository in ${dir} (branch ${o.branch})`);
        } finally {
          await repo.close();
        }
      }),
    'cafs init\ncafs --repo /srv/data init',
  );

  example(
    program
      .command('import')
      .argument('<dir>', 'the directory to import')
      .description('record a directory as a new commit on a branch (files, directories, symlinks, modes, times)')
      .option('-b, --branch <name>', 'the branch to commit to (created if absent)', 'main')
      .option('-m, --message <msg>', 'the commit message')
      .option('--reproducible', 'zero times and owners: the same tree gives the same root anywhere')
      .option('--json', 'print the result as JSON')
      .action(async (dir: string, o: { branch: string; message?: string; reproducible?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          const tty = process.stderr.isTTY === true && !o.json;
          let bar: { start(t: number, v: number): void; update(v: number, p?: object): void; stop(): void } | undefined;
          if (tty) {
            const { default: progress } = await import('cli-progress');
            bar = new progress.SingleBar({ format: 'importing [{bar}] {value}/{total} entries, {mb} MB', stream: process.stderr, hideCursor: true }, progress.Presets.shades_classic);
            bar.start(1, 0);
          }
          const r = await importDirectory(repo, dir, {
            reproducible: o.reproducible === true,
            // The repository's own directory is never imported (there is none on a remote store).
            exclude: globals().store === undefined ? [repoPath(globals().repo)] : [],
            onProgress: bar
              ? (done, total, bytes) => {
                  (bar as unknown as { setTotal(n: number): void }).setTotal(total);
                  bar!.update(done, { mb: (bytes / 1e6).toFixed(1) });
                }
              : undefined,
          });
          bar?.stop();
          let parent: Hash | undefined;
          try {
            parent = await repo.head(o.branch);
          } catch {
            parent = undefined;
          }
          const same = parent !== undefined && hex((await repo.readCommit(parent)).root) === hex(r.root);
          const commit = await repo.commit(o.branch, r.root, o.message ?? `import ${dir}`, { expect: parent });
          if (o.json) json({ branch: o.branch, commit: hex(commit), root: hex(r.root), files: r.files, dirs: r.dirs, symlinks: r.symlinks, bytes: r.bytes, changed: !same });
          else out(`${o.branch} ${hex(commit).slice(0, 12)}: ${r.files} files, ${r.dirs} directories, ${r.symlinks} symlinks, ${r.bytes} bytes${same ? ' (no changes)' : ''}\nroot ${hex(r.root)}`);
        });
      }),
    'cafs import ./site --branch site -m "publish"\ncafs import . --reproducible --json',
  );

  example(
    program
      .command('export')
      .argument('<ref>', 'what to export: a branch, tag, commit or root, optionally REF:PATH')
      .argument('<dir>', 'the target directory')
      .description('write a tree into a directory; refuses to overwrite differing files unless --force')
      .option('-f, --force', 'overwrite files that differ (plain), or replace unknown entries (--atomic)')
      .option('--atomic', 'atomic projection: readers see the old tree or the new one, never a mix')
      .option('--json', 'print the result as JSON')
      .action(async (spec: string, dir: string, o: { force?: boolean; atomic?: boolean; json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          let { root } = await resolveRoot(repo, ref);
          if (o.atomic) {
            if (normPath(path) !== '/') {
              // Project a subtree: make it the root of a tree of its own.
              root = await subtreeRoot(repo, root, normPath(path));
            }
            const r = await exportAtomic(repo, root, dir, { force: o.force === true });
            if (o.json) json({ ...r, root: hex(root) });
            else out(r.changed ? `updated ${dir}: ${r.added} added, ${r.modified} changed, ${r.removed} removed` : `${dir} is up to date (nothing changed)`);
          } else {
            const r = await exportPlain(repo, root, normPath(path), dir, { force: o.force === true });
            if (o.json) json({ ...r, root: hex(root), changed: r.written > 0 });
            else out(`exported ${r.files} files, ${r.dirs} directories, ${r.symlinks} symlinks to ${dir} (${r.written} written)`);
          }
        });
      }),
    'cafs export main ./out\ncafs export --atomic site:/public /var/www/site',
  );

  example(
    program
      .command('ls')
      .argument('[spec]', 'REF[:PATH]', 'main')
      .description('list a directory of a tree')
      .option('-l, --long', 'mode, size, time')
      .option('-R, --recursive', 'list subdirectories too')
      .option('--json', 'print entries as JSON')
      .action(async (spec: string, o: { long?: boolean; recursive?: boolean; json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          const { root } = await resolveRoot(repo, ref);
          const start = normPath(path);
          const rows: { path: string; name: string; type: string; mode: number; size: number; mtime: string; target?: string }[] = [];
          const visit = async (dir: string): Promise<void> => {
            const st = await repo.fs.stat(root, dir);
            if (!st.isDirectory()) {
              const l = await repo.fs.lstat(root, dir);
              rows.push({ path: dir, name: dir.split('/').pop()!, type: l.type, mode: l.mode & 0o7777, size: Number(l.size), mtime: timeString(l.mtimeNs) });
              return;
            }
            const sub: string[] = [];
            for (const e of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
              const p = dir === '/' ? '/' + e.name : dir + '/' + e.name;
              const l = await repo.fs.lstat(root, p);
              const row: (typeof rows)[number] = { path: p, name: e.name, type: l.type, mode: l.mode & 0o7777, size: Number(l.size), mtime: timeString(l.mtimeNs) };
              if (l.type === 'symlink') row.target = await repo.fs.readlink(root, p);
              rows.push(row);
              if (o.recursive && l.type === 'directory') sub.push(p);
            }
            for (const s of sub) await visit(s);
          };
          await visit(start);
          if (o.json) return json(rows);
          for (const r of rows) {
            const name = o.recursive ? r.path : r.name;
            const shown = r.type === 'directory' ? name + '/' : name;
            if (o.long) out(`${modeString(r)} ${String(r.size).padStart(10)} ${r.mtime} ${shown}${r.target !== undefined ? ' -> ' + r.target : ''}`);
            else out(shown);
          }
        });
      }),
    'cafs ls -l main:/src\ncafs ls -R v1.0',
  );

  example(
    program
      .command('cat')
      .argument('<spec>', 'REF:PATH')
      .description("print a file's content")
      .action(async (spec: string) => {
        await withSpec(spec, async (repo, ref, path) => {
          if (normPath(path) === '/') throw new CliError('cat needs REF:PATH (or a URL with a path)');
          const { root } = await resolveRoot(repo, ref);
          const st = await repo.fs.stat(root, path);
          if (st.isDirectory()) throw new CliError(`${path} is a directory`);
          for await (const piece of repo.fs.stream(root, path)) {
            if (!process.stdout.write(piece)) await new Promise((r) => process.stdout.once('drain', r));
          }
        });
      }),
    'cafs cat main:/README.md\ncafs cat main~2:/etc/config.json | jq .',
  );

  example(
    program
      .command('stat')
      .argument('<spec>', 'REF[:PATH]')
      .description('show the metadata of a path (and the ref it resolves to)')
      .option('--json', 'print as JSON')
      .action(async (spec: string, o: { json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          const { root, commit } = await resolveRoot(repo, ref);
          const st = await repo.fs.lstat(root, normPath(path));
          const info = {
            path: normPath(path),
            type: st.type,
            mode: '0' + (st.mode & 0o7777).toString(8),
            size: Number(st.size),
            blocks: Number(st.blocks),
            uid: st.uid,
            gid: st.gid,
            mtime: st.mtime.toISOString(),
            mtimeNs: String(st.mtimeNs),
            ctimeNs: String(st.ctimeNs),
            target: st.type === 'symlink' ? await repo.fs.readlink(root, normPath(path)) : undefined,
            root: hex(root),
            commit: commit ? hex(commit) : undefined,
          };
          if (o.json) return json(info);
          for (const [k, v] of Object.entries(info)) if (v !== undefined) out(`${k.padEnd(8)} ${v}`);
        });
      }),
    'cafs stat main:/README.md',
  );

  example(
    program
      .command('diff')
      .argument('<a>', 'first ref')
      .argument('<b>', 'second ref')
      .argument('[path]', 'only below this path')
      .description('what changed from A to B')
      .option('--stat', 'counts of added, removed and changed paths, and changed bytes')
      .option('--name-status', 'one line per path: A, D, M or R and the path')
      .option('--json', 'print changes as JSON')
      .action(async (a: string, b: string, path: string | undefined, o: { stat?: boolean; nameStatus?: boolean; json?: boolean }) => {
        if (isUrlRef(a) !== isUrlRef(b) || (isUrlRef(a) && parseUrlRef(a).base !== parseUrlRef(b).base)) {
          throw new CliError('diff takes two local refs, or two URLs of one server');
        }
        const second = isUrlRef(b) ? (await openUrlRef(b)).ref : b;
        await withSpec(a, async (repo, refA) => {
          const ra = await resolveRoot(repo, refA);
          const rb = await resolveRoot(repo, second);
          const changes: FsChange[] = [];
          for await (const c of repo.fs.diff(ra.root, rb.root, { ranges: true, renames: true, ...(path ? { path: normPath(path) } : {}) })) changes.push(c);
          const letter = { add: 'A', remove: 'D', change: 'M', rename: 'R' } as const;
          if (o.json) {
            return json(changes.map((c) => ({ op: c.op, path: c.path, from: c.from, left: summarizeInfo(c.left), right: summarizeInfo(c.right), ranges: c.ranges?.map((r) => [Number(r.start), Number(r.end)]) })));
          }
          if (o.stat) {
            const n = { add: 0, remove: 0, change: 0, rename: 0 };
            let bytes = 0n;
            for (const c of changes) {
              n[c.op]++;
              if (o.stat) for (const r of c.ranges ?? []) bytes += r.end - r.start;
              if (c.op === 'add' && c.right?.type === 'file') bytes += c.right.size;
              if (c.op === 'remove' && c.left?.type === 'file') bytes += c.left.size;
            }
            out(`${changes.length} paths changed: ${n.add} added, ${n.remove} removed, ${n.change} changed, ${n.rename} renamed; ${bytes} bytes differ`);
            return;
          }
          for (const c of changes) {
            if (o.nameStatus) out(`${letter[c.op]}\t${c.op === 'rename' ? c.from + '\t' : ''}${c.path}`);
            else {
              const t = (c.right ?? c.left)!.type === 'directory' && c.path !== '/' ? '/' : '';
              const detail =
                c.op === 'rename'
                  ? ` (from ${c.from})`
                  : c.ranges && c.ranges.length > 0
                    ? ` bytes ${c.ranges.map((r) => `${r.start}-${r.end}`).join(',')}`
                    : c.op === 'change' && c.left && c.right && c.left.mode !== c.right.mode
                      ? ` mode ${c.left.mode.toString(8)} -> ${c.right.mode.toString(8)}`
                      : '';
              out(`${letter[c.op]} ${c.path}${t}${detail}`);
            }
          }
        });
      }),
    'cafs diff main~1 main\ncafs diff v1 v2 /src --name-status',
  );

  example(
    program
      .command('log')
      .argument('[ref]', 'branch or ref', 'main')
      .description('history, newest first')
      .option('-n, --max-count <n>', 'at most this many commits')
      .option('--oneline', 'one line per commit')
      .option('--json', 'print commits as JSON')
      .action(async (ref: string, o: { maxCount?: string; oneline?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          const limit = o.maxCount === undefined ? undefined : Number(o.maxCount);
          if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new CliError(`bad --max-count ${o.maxCount}`);
          const rows: { commit: string; root: string; parents: string[]; time: string; author?: string; message: string }[] = [];
          for await (const e of repo.log(ref, limit === undefined ? {} : { limit })) {
            const c: Commit = e.commit;
            rows.push({ commit: hex(e.hash), root: hex(c.root), parents: c.parents.map(hex), time: new Date(Number(c.timeNs / 1_000_000n)).toISOString(), author: c.author, message: c.message });
          }
          if (o.json) return json(rows);
          for (const r of rows) {
            if (o.oneline) out(`${r.commit.slice(0, 12)} ${r.message.split('\n')[0]}`);
            else {
              out(`commit ${r.commit}${r.parents.length > 1 ? '\nMerge:  ' + r.parents.map((p) => p.slice(0, 12)).join(' ') : ''}`);
              if (r.author) out(`Author: ${r.author}`);
              out(`Date:   ${r.time}\nRoot:   ${r.root}\n\n    ${r.message.split('\n').join('\n    ')}\n`);
            }
          }
        });
      }),
    'cafs log\ncafs log feature --oneline -n 5',
  );

  // branch and tag: list, create (NAME [REF]) or delete (-d NAME) a name.
  const nameCommand = (spec: {
    kind: 'branch' | 'tag';
    plural: string;
    refArg: string;
    list: (repo: Repo) => Promise<{ name: string; commit: Uint8Array }[]>;
    create: (repo: Repo, name: string, ref: string) => Promise<Uint8Array>;
    remove: (repo: Repo, name: string) => Promise<void>;
    created: (name: string, commit: string) => string;
    example: string;
  }): void => {
    example(
      program
        .command(spec.kind)
        .argument('[name]', `create this ${spec.kind}`)
        .argument(`[${spec.refArg}]`, 'at this ref', 'main')
        .description(`list ${spec.plural}, create one (NAME [${spec.refArg.toUpperCase()}]) or delete one (-d NAME)`)
        .option('-d, --delete', `delete the ${spec.kind}`)
        .option('--json', 'print as JSON')
        .action(async (name: string | undefined, ref: string, o: { delete?: boolean; json?: boolean }) => {
          await withRepo(async (repo) => {
            if (name === undefined) {
              if (o.delete) throw new CliError(`${spec.kind} -d needs a name`);
              const list = await spec.list(repo);
              if (o.json) return json(list.map((b) => ({ name: b.name, commit: hex(b.commit) })));
              for (const b of list) out(`${b.name}\t${hex(b.commit).slice(0, 12)}`);
              return;
            }
            if (o.delete) {
              await spec.remove(repo, name);
              if (o.json) json({ deleted: name });
              else out(`deleted ${spec.kind} ${name}`);
              return;
            }
            const c = await spec.create(repo, name, ref);
            if (o.json) json({ name, commit: hex(c) });
            else out(spec.created(name, hex(c).slice(0, 12)));
          });
        }),
      spec.example,
    );
  };
  nameCommand({
    kind: 'branch',
    plural: 'branches',
    refArg: 'from',
    list: (repo) => repo.branches(),
    create: (repo, name, ref) => repo.createBranch(name, ref),
    remove: (repo, name) => repo.deleteBranch(name),
    created: (name, commit) => `created branch ${name} at ${commit}`,
    example: 'cafs branch\ncafs branch feature main\ncafs branch -d feature',
  });
  nameCommand({
    kind: 'tag',
    plural: 'tags',
    refArg: 'ref',
    list: (repo) => repo.tags(),
    create: (repo, name, ref) => repo.createTag(name, ref),
    remove: (repo, name) => repo.deleteTag(name),
    created: (name, commit) => `tagged ${commit} as ${name}`,
    example: 'cafs tag v1.0 main\ncafs tag -d v1.0',
  });

  example(
    program
      .command('merge')
      .argument('<ref>', 'what to merge')
      .description('merge REF into a branch (fast-forward when possible, else three-way)')
      .option('-b, --branch <name>', 'the branch to merge into', 'main')
      .option('-m, --message <msg>', 'the merge commit message')
      .option('--allow-conflicts', 'commit even with conflicts (they keep the branch\'s side)')
      .option('--json', 'print the result as JSON')
      .action(async (ref: string, o: { branch: string; message?: string; allowConflicts?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          const r = await repo.merge(o.branch, ref, { message: o.message ?? `merge ${ref} into ${o.branch}`, allowConflicts: o.allowConflicts === true });
          const res = r as unknown as { commit?: Hash; fastForward?: boolean; conflicts: { kind: string; path: string }[] };
          const conflicts = res.conflicts.map((c) => ({ kind: c.kind, path: c.path }));
          if (o.json) json({ commit: res.commit ? hex(res.commit) : undefined, fastForward: res.fastForward, conflicts });
          else {
            for (const c of conflicts) process.stderr.write(`CONFLICT (${c.kind}): ${c.path}\n`);
            if (res.commit) out(`merged ${ref} into ${o.branch}: ${hex(res.commit).slice(0, 12)}${res.fastForward ? ' (fast-forward)' : ''}`);
          }
          if (!res.commit && conflicts.length > 0) throw new CliError(`merge of ${ref} into ${o.branch} has ${conflicts.length} conflicts; nothing committed (use --allow-conflicts)`);
        });
      }),
    'cafs merge feature\ncafs merge main --branch release -m "sync"',
  );

  example(
    program
      .command('gc')
      .description('delete blobs no branch, tag or retained history reaches')
      .option('--full', 'a full mark and sweep (default incremental)')
      .option('--keep-last <n>', 'keep only the last N commits of each branch')
      .option('--dry-run', 'report what would be deleted')
      .option('--json', 'print the report as JSON')
      .action(async (o: { full?: boolean; keepLast?: string; dryRun?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          const keepLast = o.keepLast === undefined ? undefined : Number(o.keepLast);
          if (keepLast !== undefined && !(Number.isSafeInteger(keepLast) && keepLast >= 1)) {
            throw new RepoError('EINVAL', `--keep-last takes a whole number of commits, at least 1 (got ${JSON.stringify(o.keepLast)})`);
          }
          // This process holds the repository's lock: no other writer can run, so no grace is needed.
          const r = await repo.gc({ mode: o.full ? 'full' : 'incremental', keepLast, dryRun: o.dryRun === true, graceMs: 0 });
          if (o.json) return json(r);
          out(`${r.dryRun ? 'would delete' : 'deleted'} ${r.blobsDeleted} blobs (${r.bytesDeleted} bytes), kept ${r.blobsKept}; ${r.mode}${r.fallback ? ' (' + r.fallback + ')' : ''}, ${Math.round(r.durationMs)} ms`);
        });
      }),
    'cafs gc\ncafs gc --keep-last 10 --dry-run',
  );

  example(
    program
      .command('fsck')
      .description('check that every reachable blob is present and matches its hash')
      .option('--json', 'print the report as JSON')
      .action(async (o: { json?: boolean }) => {
        await withRepo(async (repo) => {
          const r = await fsck(repo);
          if (o.json) json(r);
          else {
            for (const m of r.missing) out(`missing ${m}`);
            for (const c of r.corrupt) out(`corrupt ${c}`);
            out(`${r.commits} commits, ${r.roots} roots, ${r.nodes} nodes, ${r.dataBlobs} data blobs: ${r.ok ? 'ok' : 'DAMAGED'}`);
          }
          if (!r.ok) throw new CliError(`fsck: ${r.missing.length} missing, ${r.corrupt.length} corrupt blobs`);
        });
      }),
    'cafs fsck',
  );

  example(
    program
      .command('serve')
      .argument('[branches...]', 'serve only these branches under /b/ (default: all)')
      .description('serve the repository over HTTP (read-only): /r/<root>/<path>, /b/<branch>/<path>, /diff/<a>..<b>')
      .option('-p, --port <n>', 'port (0: any free port)', '8080')
      .option('--host <addr>', 'address to listen on', '127.0.0.1')
      .option('--import <dir>', 'with --memory: import this directory as branch main first')
      .option('--max-connections <n>', 'refuse connections beyond this many', '1024')
      .option('--headers-timeout <s>', 'a client must send its request headers within this many seconds', '10')
      .option('--idle-timeout <s>', 'cut a connection on which nothing moves for this many seconds (slow readers)', '30')
      .option('--shutdown-timeout <s>', 'on SIGTERM/SIGINT, let responses in flight finish for this many seconds', '2')
      .option('--allow-push', 'accept pushes (blobs and branch updates) from clients with the token')
      .option('--token-file <file>', 'the bearer token pushes must present (default: $CAFS_TOKEN)')
      .action(async (branches: string[], o: { port: string; host: string; import?: string; maxConnections: string; headersTimeout: string; idleTimeout: string; shutdownTimeout: string; allowPush?: boolean; tokenFile?: string }) => {
        const { serve } = await import('./http/index.js');
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`bad port ${o.port}`);
        const seconds = (flag: string, v: string): number => {
          const n = Number(v);
          if (!(Number.isFinite(n) && n > 0 && n <= 86400)) throw new CliError(`${flag} takes a number of seconds above 0 (got ${JSON.stringify(v)})`);
          return Math.round(n * 1000);
        };
        const maxConnections = Number(o.maxConnections);
        if (!(Number.isSafeInteger(maxConnections) && maxConnections > 0)) throw new CliError(`--max-connections takes a positive whole number (got ${JSON.stringify(o.maxConnections)})`);
        const limits = { maxConnections, headersTimeoutMs: seconds('--headers-timeout', o.headersTimeout), idleTimeoutMs: seconds('--idle-timeout', o.idleTimeout) };
        const shutdownMs = seconds('--shutdown-timeout', o.shutdownTimeout);
        let push: { token: string } | undefined;
        if (o.allowPush) {
          const { readFileSync } = await import('node:fs');
          const token = o.tokenFile !== undefined ? readFileSync(o.tokenFile, 'utf8').trim() : process.env['CAFS_TOKEN'];
          if (token === undefined || token.length < 8) throw new CliError('--allow-push needs a token of at least 8 characters: --token-file FILE or $CAFS_TOKEN');
          push = { token };
        }
        let repo: Repo;
        if (globals().memory) {
          repo = await Repo.open();
          await repo.init();
          if (o.import !== undefined) {
            const r = await importDirectory(repo, o.import);
            await repo.commit('main', r.root, `import ${o.import}`);
            out(`imported ${r.files} files into memory: root ${hex(r.root)}`);
          }
        } else {
          if (o.import !== undefined) throw new CliError('--import needs --memory (use `cafs import` for a repository on disk)');
          repo = await openRepo(globals().repo, globals().store);
        }
        for (const b of branches) await repo.head(b);
        // Other cafs commands reach the repository through this process while it serves.
        const holder = globals().memory || globals().store !== undefined ? undefined : await holdIfOwner(repo, repoPath(globals().repo));
        const server = await serve(repo, { port, host: o.host, branches: branches.length > 0 ? branches : undefined, push, ...limits }).catch(async (err: unknown) => {
          await holder?.close();
          await repo.close();
          throw new CliError(`cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`);
        });
        out(`serving on http://${o.host}:${server.port}/${push ? ' (pushes allowed with the token)' : ''}`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        // Stop accepting; responses in flight get the deadline, then are cut.
        await server.shutdown(shutdownMs);
        await holder?.close();
        await repo.close();
      }),
    'cafs serve --port 8080\ncurl localhost:8080/b/main/README.md\ncafs serve site --port 0\ncafs --memory serve --import ./public',
  );

  example(
    program
      .command('watch')
      .argument('<dir>', 'the directory to watch')
      .description('import DIR, then commit a snapshot whenever it changes (file-system notifications)')
      .option('-b, --branch <name>', 'the branch to commit to', 'main')
      .option('--debounce <ms>', 'wait this long after the last change', '300')
      .option('--reproducible', 'zero times and owners')
      .action(async (dir: string, o: { branch: string; debounce: string; reproducible?: boolean }) => {
        const { watch } = await import('node:fs');
        const repo = await openRepo(globals().repo, globals().store);
        const exclude = globals().store === undefined ? [repoPath(globals().repo)] : [];
        let last: string | undefined;
        try {
          last = hex((await repo.readCommit(await repo.head(o.branch))).root);
        } catch {
          last = undefined;
        }
        const snapshot = async (why: string): Promise<void> => {
          const r = await importDirectory(repo, dir, { reproducible: o.reproducible === true, exclude });
          if (hex(r.root) === last) return;
          let parent: Hash | undefined;
          try {
            parent = await repo.head(o.branch);
          } catch {
            parent = undefined;
          }
          const c = await repo.commit(o.branch, r.root, `${why} ${new Date().toISOString()}`, { expect: parent });
          last = hex(r.root);
          out(`${o.branch} ${hex(c).slice(0, 12)}: ${why} (${r.files} files)`);
        };
        await snapshot('import');
        let timer: NodeJS.Timeout | undefined;
        let running: Promise<void> = Promise.resolve();
        let failure: unknown;
        const watcher = watch(dir, { recursive: true }, (_event, name) => {
          if (name !== null && String(name).split('/')[0] === REPO_DIR) return;
          clearTimeout(timer);
          timer = setTimeout(() => {
            running = running.then(() => snapshot('snapshot')).catch((err: unknown) => {
              failure = err;
              process.kill(process.pid, 'SIGTERM');
            });
          }, Number(o.debounce));
        });
        out(`watching ${dir}`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        watcher.close();
        clearTimeout(timer);
        await running;
        await repo.close();
        if (failure !== undefined) throw failure;
      }),
    'cafs watch ./notes --branch notes',
  );

  example(
    program
      .command('mount')
      .argument('<ref>', 'a branch (read/write), or any ref or root hash (read-only)')
      .argument('<dir>', 'the mountpoint (created if missing; a stale mount there is cleared)')
      .description('mount a branch or a snapshot as a real filesystem (FUSE); every change through a branch mount is a commit')
      .option('--ro', 'read-only, even for a branch')
      .option('--import <dir>', 'with --memory: import this directory as branch main first')
      .option('--allow-other', 'let other users use the mount (FUSE allow_other; the kernel still checks modes and owners)')
      .option('--keep-last <n>', 'collect garbage as the mount goes, keeping the last N commits of each branch (for long-lived RAM disks)')
      .option('--cache-size <mib>', 'for a URL: MiB of fetched blobs kept in memory', '256')
      .option('--poll <s>', 'for a branch URL: check this often whether the branch moved', '5')
      .option('--json', 'print the mount as a JSON line')
      .action(async (ref: string, dir: string, o: MountCliOptions) => {
        const keepLast = o.keepLast === undefined ? undefined : Number(o.keepLast);
        if (keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast > 0)) throw new CliError('--keep-last needs a positive integer');
        const { mount } = await import('@cafs/fuse');
        if (isUrlRef(ref)) return mountUrl(ref, dir, o);
        let repo: Repo;
        if (globals().memory) {
          repo = await Repo.open();
          await repo.init();
          if (o.import !== undefined) {
            const r = await importDirectory(repo, o.import);
            await repo.commit('main', r.root, `import ${o.import}`);
          }
        } else {
          if (o.import !== undefined) throw new CliError('--import needs --memory (use `cafs import` for a repository on disk)');
          repo = await openRepo(globals().repo, globals().store);
        }
        const isBranch = (await repo.branches()).some((b) => b.name === ref);
        const target = resolvePath(dir);
        const m =
          isBranch && !o.ro
            ? await mount({ repo, branch: ref }, target, { allowOther: o.allowOther, gc: keepLast === undefined ? undefined : { keepLast } })
            : await mount((await repo.resolve(ref)).root, target, { repo, allowOther: o.allowOther });
        const mode = isBranch && !o.ro ? `read/write on branch ${ref}` : 'read-only';
        if (o.json) json({ mountpoint: target, root: hex(m.root), mode });
        else out(`mounted ${hex(m.root)} at ${target} (${mode}); Ctrl-C or \`fusermount -u ${target}\` to unmount`);
        // The mount serves requests on this process until it is unmounted (signals unmount it).
        await new Promise<void>((done) => m.events.once('unmounted', () => done()));
        await repo.close();
      }),
    'cafs mount main /mnt/cafs\ncafs mount v1.0 /mnt/release --ro\ncafs --memory mount main /mnt/ram --import ./site',
  );

  remoteCommands(program, { globals, out, json, withRepo });

  return program;
}

interface MountCliOptions {
  ro?: boolean;
  import?: string;
  json?: boolean;
  allowOther?: boolean;
  keepLast?: string;
  cacheSize: string;
  poll: string;
}

/** A remote root or branch mounted read-only without copying: blobs arrive as reads need them. */
async function mountUrl(url: string, dir: string, o: MountCliOptions): Promise<void> {
  const { mount } = await import('@cafs/fuse');
  const cacheMiB = Number(o.cacheSize);
  const pollS = Number(o.poll);
  if (!(Number.isFinite(cacheMiB) && cacheMiB >= 1)) throw new CliError(`--cache-size takes a number of MiB, at least 1 (got ${JSON.stringify(o.cacheSize)})`);
  if (!(Number.isFinite(pollS) && pollS > 0)) throw new CliError(`--poll takes a number of seconds above 0 (got ${JSON.stringify(o.poll)})`);
  const u = await openUrlRef(url, { cacheBytes: cacheMiB * 1024 * 1024 });
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

export async function main(argv = process.argv): Promise<number> {
  // `cafs log | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const cmd = build();
  try {
    await cmd.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; usage errors were printed by commander.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : err.exitCode || 2;
    }
    const d = describeError(err);
    process.stderr.write(`cafs: ${d.line}\n`);
    if (!d.user && process.env['CAFS_DEBUG']) process.stderr.write(String((err as Error).stack) + '\n');
    return d.exitCode;
  }
}

/** A tree whose root is the directory `path` of `root`. */
async function subtreeRoot(repo: Repo, root: Hash, path: string): Promise<Hash> {
  const st = await repo.fs.stat(root, path);
  if (!st.isDirectory()) throw new CliError(`${path} is not a directory`);
  // Move the subtree up within a copy of the source root: blobs are shared, nothing is rewritten.
  // A fixed clock: the same subtree always gives the same root (so re-exports see no change).
  const fs = new Fs(repo.store, { now: () => 0n });
  let r = root;
  const top = await fs.readdir(root, '/');
  const hold = '/..cafs-subtree';
  r = await fs.rename(r, path, hold);
  for (const n of top) if ('/' + n !== hold) r = await fs.rm(r, '/' + n, { recursive: true, force: true });
  const b2 = fs.batch(r);
  for (const n of await b2.readdir(hold)) await b2.rename(hold + '/' + n, '/' + n);
  await b2.rmdir(hold);
  await b2.chmod('/', st.mode & 0o7777);
  await b2.chown('/', st.uid, st.gid);
  await b2.utimes('/', st.mtimeNs, st.mtimeNs);
  return b2.flush();
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();
if (isMain) {
  main().then((code) => {
    process.exitCode = code;
  });
}
