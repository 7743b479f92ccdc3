// cafs watch: commit a snapshot of a directory whenever it changes.
import type { Command } from 'commander';
import type { Hash } from '@cafs/kv';
import { REPO_DIR, openRepo, repoPath } from '../repo-open.js';
import { importDirectory } from '../import.js';
import { hex, out, example, type Context } from './shared.js';

export function watchCommand(program: Command, ctx: Context): void {
  const { globals } = ctx;
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
}
