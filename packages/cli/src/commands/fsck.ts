// cafs fsck: check every reachable blob (the walk is @cafs/repo's fsck).
import type { Command } from 'commander';
import { fsck } from '@cafs/repo';
import { CliError } from '../errors.js';
import { progressBar } from '../progress.js';
import { out, json, example, type Context } from './shared.js';

export function fsckCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  example(
    program
      .command('fsck')
      .description('check that every reachable blob is present and matches its hash (history ends where gc cut it)')
      .option('--json', 'print the report as JSON')
      .action(async (o: { json?: boolean }) => {
        await withRepo(async (repo) => {
          const bar = await progressBar('checking [{bar}] {value}/{total} commits, {blobs} blobs', { json: o.json, payload: { blobs: 0 } });
          const r = await fsck(repo, {
            onProgress: bar.active ? (p) => bar.update(p.commits, p.commits + p.pending, { blobs: p.blobs }) : undefined,
          }).finally(() => bar.stop());
          if (o.json) json(r);
          else {
            for (const p of r.problems) {
              out(`${p.problem} ${p.hash} (${p.kind}${p.detail ? ': ' + p.detail : ''})`);
              for (const by of p.reachedBy) out(`  reached from ${by}`);
            }
            const cut = r.historyCuts > 0 ? ` (history ends at ${r.historyCuts} link${r.historyCuts === 1 ? '' : 's'} cut by gc)` : '';
            out(`${r.commits} commits${cut}, ${r.roots} roots, ${r.nodes} nodes, ${r.dataBlobs} data blobs: ${r.ok ? 'ok' : 'DAMAGED'}`);
          }
          if (!r.ok) throw new CliError(`fsck: ${r.missing.length} missing, ${r.corrupt.length} corrupt blobs`);
        });
      }),
    'cafs fsck\ncafs fsck --json',
  );
}
