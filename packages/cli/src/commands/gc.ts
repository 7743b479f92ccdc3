// cafs gc: collect unreachable blobs.
import type { Command } from 'commander';
import { RepoError } from '@cafs/repo';
import { compactStore, dirSize } from '../compact.js';
import { progressBar } from '../progress.js';
import { repoPath } from '../repo-open.js';
import { out, json, example, type Context } from './shared.js';

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

export function gcCommand(program: Command, ctx: Context): void {
  const { withRepo, globals } = ctx;
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
          // The LevelDB directory, whose size is reported around the compaction (none on a --store).
          const dir = globals().store === undefined ? repoPath(globals().repo) : undefined;
          const before = dir === undefined ? undefined : await dirSize(dir);
          // This process holds the repository's lock: no other writer can run, so no grace is needed.
          const bar = await progressBar('gc {phase} [{bar}] {value}/{total} {what}', { json: o.json, payload: { phase: 'mark', what: 'roots' } });
          const r = await repo
            .gc({
              mode: o.full ? 'full' : 'incremental',
              keepLast,
              dryRun: o.dryRun === true,
              graceMs: 0,
              onProgress: bar.active ? (p) => bar.update(p.done, p.total, { phase: p.phase, what: p.phase === 'mark' ? 'roots' : 'blobs' }) : undefined,
            })
            .finally(() => bar.stop());
          // Deleted blobs leave LevelDB's files as they were until a compaction rewrites them.
          let disk: { before: number; after: number } | undefined;
          if (before !== undefined && !r.dryRun && r.blobsDeleted > 0 && (await compactStore(repo))) disk = { before, after: await dirSize(dir!) };
          if (o.json) return json(disk === undefined ? r : { ...r, diskBytesBefore: disk.before, diskBytesAfter: disk.after });
          out(`${r.dryRun ? 'would delete' : 'deleted'} ${r.blobsDeleted} blobs (${r.bytesDeleted} bytes), kept ${r.blobsKept}; ${r.mode}${r.fallback ? ' (' + r.fallback + ')' : ''}, ${Math.round(r.durationMs)} ms`);
          if (disk !== undefined) out(`compacted ${dir}: ${mib(disk.before)} -> ${mib(disk.after)} on disk`);
        });
      }),
    'cafs gc\ncafs gc --keep-last 10 --dry-run',
  );
}
