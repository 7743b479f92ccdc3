// cafs init: create a repository (on disk or on a Redis Cluster).
import { mkdir } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { Repo } from '@cafs/repo';
import { CliError } from '../errors.js';
import { REPO_DIR, openRepo } from '../repo-open.js';
import { hex, out, json, example, type Context } from './shared.js';

export function initCommand(program: Command, ctx: Context): void {
  const { globals } = ctx;
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
}
