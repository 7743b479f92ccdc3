// cafs merge: merge a ref into a branch.
import type { Command } from 'commander';
import type { ConflictStrategy } from '@cafs/repo';
import { CliError } from '../errors.js';
import { hex, out, json, example, type Context } from './shared.js';

export function mergeCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  example(
    program
      .command('merge')
      .argument('<ref>', 'what to merge')
      .description('merge REF into a branch (fast-forward when possible, else three-way)')
      .option('-b, --branch <name>', 'the branch to merge into', 'main')
      .option('-m, --message <msg>', 'the merge commit message')
      .option('--allow-conflicts', 'commit even with conflicts (they keep the branch\'s side)')
      .option('--ours', 'resolve every conflict with the branch\'s side, and commit')
      .option('--theirs', 'resolve every conflict with REF\'s side, and commit')
      .option('--markers', 'write conflicting text files with <<<<<<< ======= >>>>>>> markers, and commit')
      .option('--json', 'print the result as JSON')
      .action(async (ref: string, o: { branch: string; message?: string; allowConflicts?: boolean; ours?: boolean; theirs?: boolean; markers?: boolean; json?: boolean }) => {
        const chosen = (['ours', 'theirs', 'markers'] as const).filter((k) => o[k] === true);
        if (chosen.length > 1) throw new CliError(`--${chosen.join(' and --')} exclude each other`);
        const strategy: ConflictStrategy | undefined = chosen[0];
        await withRepo(async (repo) => {
          const res = await repo.merge(o.branch, ref, { message: o.message ?? `merge ${ref} into ${o.branch}`, allowConflicts: o.allowConflicts === true, strategy });
          const conflicts = res.conflicts.map((c) => ({ kind: c.kind, path: c.path, resolution: c.resolution }));
          if (o.json) json({ commit: res.commit ? hex(res.commit) : undefined, fastForward: res.fastForward, conflicts });
          else {
            const how = { ours: `kept ${o.branch}'s side`, theirs: `took ${ref}'s side`, markers: 'markers written' } as const;
            for (const c of conflicts) process.stderr.write(`CONFLICT (${c.kind}): ${c.path}${res.commit ? ` (${how[c.resolution]})` : ''}\n`);
            if (res.commit) out(`merged ${ref} into ${o.branch}: ${hex(res.commit).slice(0, 12)}${res.fastForward ? ' (fast-forward)' : ''}`);
          }
          if (!res.commit && conflicts.length > 0) throw new CliError(`merge of ${ref} into ${o.branch} has ${conflicts.length} conflicts; nothing committed (resolve with --ours, --theirs or --markers)`);
        });
      }),
    'cafs merge feature\ncafs merge main --branch release -m "sync"\ncafs merge feature --markers   # then fix the marked files and commit',
  );
}
