// cafs export: write a tree into a directory, plain or atomic (the logic is in ../export.ts).
import type { Command } from 'commander';
import type { Hash } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import { Fs } from '@cafs/fs';
import { CliError } from '../errors.js';
import { exportAtomic, exportPlain } from '../export.js';
import { progressBar } from '../progress.js';
import { hex, out, json, example, resolveRoot, normPath, type Context } from './shared.js';

export function exportCommand(program: Command, ctx: Context): void {
  const { withSpec } = ctx;
  example(
    program
      .command('export')
      .argument('<ref>', 'what to export: a branch, tag, commit or root, optionally REF:PATH')
      .argument('<dir>', 'the target directory')
      .description('write a tree into a directory; refuses to overwrite differing files unless --force')
      .option('-f, --force', 'overwrite files that differ (plain), or replace unknown entries (--atomic)')
      .option('--atomic', 'atomic projection: readers see the old tree or the new one, never a mix')
      .option('--devices', 'make the device nodes the tree holds (as root; default: leave them out)')
      .option('--json', 'print the result as JSON')
      .action(async (spec: string, dir: string, o: { force?: boolean; atomic?: boolean; devices?: boolean; json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          let { root } = await resolveRoot(repo, ref);
          const bar = await progressBar('exporting [{bar}] {value}/{total} entries', { json: o.json });
          const onProgress = bar.active ? (done: number, total: number) => bar.update(done, total) : undefined;
          try {
            if (o.atomic) {
              if (normPath(path) !== '/') {
                // Project a subtree: make it the root of a tree of its own.
                root = await subtreeRoot(repo, root, normPath(path));
              }
              const r = await exportAtomic(repo, root, dir, { force: o.force === true, devices: o.devices === true, onProgress });
              bar.stop(); // before printing
              if (o.json) json({ ...r, root: hex(root) });
              else out(r.changed ? `updated ${dir}: ${r.added} added, ${r.modified} changed, ${r.removed} removed` : `${dir} is up to date (nothing changed)`);
            } else {
              const r = await exportPlain(repo, root, normPath(path), dir, { force: o.force === true, devices: o.devices === true, onProgress });
              bar.stop(); // before printing
              if (o.json) json({ ...r, root: hex(root), changed: r.written > 0 });
              else out(`exported ${r.files} files, ${r.dirs} directories, ${r.symlinks} symlinks${r.links > 0 ? ` (${r.links} of them hard links)` : ''} to ${dir} (${r.written} written)`);
            }
          } finally {
            bar.stop();
          }
        });
      }),
    'cafs export main ./out\ncafs export --atomic site:/public /var/www/site',
  );
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
