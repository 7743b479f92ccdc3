// cafs fsck: check reachable blobs (the logic is in ../fsck.ts).
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { fsck } from '../fsck.js';
import { progressBar } from '../progress.js';
import { out, json, example, type Context } from './shared.js';

export function fsckCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  example(
    program
      .command('fsck')
      .description('check that every reachable blob is present and matches its hash')
      .option('--json', 'print the report as JSON')
      .action(async (o: { json?: boolean }) => {
        await withRepo(async (repo) => {
          const bar = await progressBar('checking [{bar}] {value}/{total} commits, {blobs} blobs', { json: o.json, payload: { blobs: 0 } });
          const r = await fsck(repo, {
            onProgress: bar.active ? (p) => bar.update(p.commits, p.commits + p.pending, { blobs: p.blobs }) : undefined,
          }).finally(() => bar.stop());
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
}
