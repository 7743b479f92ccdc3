// `pnpm bench worktree` (issue 23): a working directory kept in step with a repository, cafs
// against git on one generated tree: the first import against `git add -A && git commit`, and
// the re-import of the unchanged tree (with the stat-cache index, and without it) against
// `git status`. Wall times of whole commands, node start-up included; medians of the rounds.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { exec } from './child.js';
import { CAFS } from './cli.js';
import { generateTree } from './sync-tree.js';
import { UsageError, fmt, formatGrid, intArg, loadAverage, median, progress } from './table.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runWorktree(args: readonly string[]): Promise<void> {
  let files = 10_000;
  let rounds = 3;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--files') files = intArg(a, args[++i], 1);
    else if (a === '--rounds') rounds = intArg(a, args[++i], 1);
    else throw new UsageError(`worktree: unknown option ${a} (options: --files N --rounds N)`);
  }
  if (!existsSync(CAFS)) throw new Error(`${CAFS} is missing: run pnpm build first`);
  const git = (await exec('git', ['--version'])).out.trim();
  console.log(`${files} generated files (100 B-8 KiB text, 1% binary up to 1 MiB), ${rounds} rounds, ${git}; load average ${loadAverage()}`);
  const times: Record<string, number[]> = { first: [], gitCommit: [], again: [], again2: [], noIndex: [], gitStatus: [] };
  for (let round = 0; round < rounds; round++) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'cafs-bench-worktree-'));
    try {
      const tree = path.join(tmp, 'tree');
      const repo = path.join(tmp, 'repo');
      const gitDir = path.join(tmp, 'git');
      const g = await generateTree(tree, files);
      if (round === 0) console.log(`tree: ${fmt.int(g.files)} files, ${(g.bytes / 1e6).toFixed(1)} MB`);
      await mkdir(repo);
      await exec(process.execPath, [CAFS, 'init'], { cwd: repo });
      await exec('git', ['init', '-q', '--bare', gitDir]);
      const gitIn = (...a: string[]): Promise<{ ms: number }> => exec('git', [`--git-dir=${gitDir}`, `--work-tree=${tree}`, ...a], { env: GIT_ENV });
      const cafs = (...a: string[]): Promise<{ ms: number }> => exec(process.execPath, [CAFS, '--repo', repo, ...a]);
      // Files changed less than 2 s before an import are racy (read again next time): let them age.
      await sleep(2100);
      progress(`round ${round + 1}/${rounds}: first imports`);
      // Alternate which goes first: the page cache is warm for the second.
      if (round % 2 === 0) {
        times['first']!.push((await cafs('import', tree, '-m', 'first')).ms);
        times['gitCommit']!.push((await exec('sh', ['-c', `git --git-dir='${gitDir}' --work-tree='${tree}' add -A && git --git-dir='${gitDir}' --work-tree='${tree}' commit -qm first`], { env: GIT_ENV })).ms);
      } else {
        times['gitCommit']!.push((await exec('sh', ['-c', `git --git-dir='${gitDir}' --work-tree='${tree}' add -A && git --git-dir='${gitDir}' --work-tree='${tree}' commit -qm first`], { env: GIT_ENV })).ms);
        times['first']!.push((await cafs('import', tree, '-m', 'first')).ms);
      }
      progress(`round ${round + 1}/${rounds}: unchanged`);
      times['again']!.push((await cafs('import', tree)).ms);
      times['gitStatus']!.push((await gitIn('status', '--porcelain')).ms);
      times['again2']!.push((await cafs('import', tree)).ms);
      times['noIndex']!.push((await cafs('import', tree, '--no-index')).ms);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const m = (k: string): number => median(times[k]!);
  const rows = [
    ['first import', fmt.ms(m('first')), 'git add -A && git commit', fmt.ms(m('gitCommit')), fmt.ratio(m('first') / m('gitCommit')), '<= 0.5x'],
    ['re-import, unchanged (index)', fmt.ms(m('again')), 'git status', fmt.ms(m('gitStatus')), fmt.ratio(m('again') / m('gitStatus')), '<= 3x'],
    ['same, again', fmt.ms(m('again2')), 'git status', fmt.ms(m('gitStatus')), fmt.ratio(m('again2') / m('gitStatus')), '<= 3x'],
    ['re-import, unchanged, --no-index', fmt.ms(m('noIndex')), 'git status', fmt.ms(m('gitStatus')), fmt.ratio(m('noIndex') / m('gitStatus')), ''],
  ];
  console.log(formatGrid([{ title: 'cafs' }, { title: 'time', right: true }, { title: 'git' }, { title: 'time', right: true }, { title: 'ratio', right: true }, { title: 'target' }], rows));
  console.log(`load average at end: ${loadAverage()} (the machine may be shared: other processes skew every figure)`);
}
