// cafs gc: collect unreachable blobs.
import type { Command } from 'commander';
import { RepoError } from '@cafs/repo';
import { progressBar } from '../progress.js';
import { out, json, example, type Context } from './shared.js';

export function gcCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
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
          if (o.json) return json(r);
          out(`${r.dryRun ? 'would delete' : 'deleted'} ${r.blobsDeleted} blobs (${r.bytesDeleted} bytes), kept ${r.blobsKept}; ${r.mode}${r.fallback ? ' (' + r.fallback + ')' : ''}, ${Math.round(r.durationMs)} ms`);
        });
      }),
    'cafs gc\ncafs gc --keep-last 10 --dry-run',
  );
}
