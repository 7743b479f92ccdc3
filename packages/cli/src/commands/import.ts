// cafs import: record a directory as a commit (the logic is in ../import.ts).
import type { Command } from 'commander';
import type { Hash } from '@cafs/kv';
import { repoPath } from '../repo-open.js';
import { importDirectory } from '../import.js';
import { mb, progressBar } from '../progress.js';
import { hex, out, json, example, type Context } from './shared.js';

export function importCommand(program: Command, ctx: Context): void {
  const { globals, withRepo } = ctx;
  example(
    program
      .command('import')
      .argument('<dir>', 'the directory to import')
      .description('record a directory as a new commit on a branch (files, directories, symlinks, hard links, modes, times)')
      .option('-b, --branch <name>', 'the branch to commit to (created if absent)', 'main')
      .option('-m, --message <msg>', 'the commit message')
      .option('--reproducible', 'zero times and owners: the same tree gives the same root anywhere')
      .option('--allow-empty', 'commit even when nothing changed')
      .option('--no-index', "read every file: neither use nor update the directory's index (a stat cache in the repository)")
      .option('-v, --verbose', 'name each entry left out because it vanished while being read, and each file read again because it changed')
      .option('--json', 'print the result as JSON')
      .action(async (dir: string, o: { branch: string; message?: string; reproducible?: boolean; allowEmpty?: boolean; index?: boolean; verbose?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          // The index lives in the repository directory; a --store repository has none (no index).
          const local = globals().store === undefined ? repoPath(globals().repo) : undefined;
          const bar = await progressBar('importing [{bar}] {value}/{total} entries, {mb} MB', { json: o.json, payload: { mb: '0.0' } });
          const r = await importDirectory(repo, dir, {
            reproducible: o.reproducible === true,
            // The repository's own directory is never imported (there is none on a remote store).
            exclude: local !== undefined ? [local] : [],
            indexDir: o.index !== false ? local : undefined,
            onProgress: bar.active ? (done, total, bytes) => bar.update(done, total, { mb: mb(bytes) }) : undefined,
          }).finally(() => bar.stop());
          let parent: Hash | undefined;
          try {
            parent = await repo.head(o.branch);
          } catch {
            parent = undefined;
          }
          const same = parent !== undefined && hex((await repo.readCommit(parent)).root) === hex(r.root);
          // An unchanged tree makes no commit (git's habit), unless asked.
          const commit = same && !o.allowEmpty ? parent! : await repo.commit(o.branch, r.root, o.message ?? `import ${dir}`, { expect: parent });
          if (o.json) return json({ branch: o.branch, commit: hex(commit), root: hex(r.root), files: r.files, dirs: r.dirs, symlinks: r.symlinks, links: r.links, bytes: r.bytes, changed: !same, reused: r.reused, skipped: r.skipped, reread: r.reread });
          if (o.verbose) {
            for (const s of r.skipped) process.stderr.write(`skipped ${s.path} (${s.reason === 'busy' ? 'it changed on every read' : 'it vanished while importing'})\n`);
            for (const p of r.reread) process.stderr.write(`read again ${p} (it changed while being read)\n`);
          } else if (r.skipped.length > 0 || r.reread.length > 0) {
            process.stderr.write(`${r.skipped.length} entries vanished or kept changing while importing and were left out, ${r.reread.length} files were read again (-v names them)\n`);
          }
          // Names that are hard links of another are counted with their type, and said once more.
          const links = r.links > 0 ? ` (${r.links} of them hard links)` : '';
          const reused = r.reused > 0 ? `, ${r.reused} files unchanged (not read)` : '';
          out(`${o.branch} ${hex(commit).slice(0, 12)}: ${r.files} files, ${r.dirs} directories, ${r.symlinks} symlinks${links}, ${r.bytes} bytes${reused}${same ? ' (no changes)' : ''}\nroot ${hex(r.root)}`);
        });
      }),
    'cafs import ./site --branch site -m "publish"\ncafs import . --reproducible --json',
  );
}
