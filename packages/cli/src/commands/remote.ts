// git's habits for moving roots between machines: remote, clone, fetch, pull, push.
import { mkdirSync, existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { requestPush } from '../mount-control.js';
import { bytesToHex, type Hash } from '@cafs/kv';
import { fetchRemote, pushBranch, type FetchResult, type Repo } from '@cafs/repo';
import { CliError } from '../errors.js';
import { syncBar } from '../progress.js';
import { REPO_DIR, openLocalRepo, parseCompress, readSecret, repoPath } from '../repo-open.js';
import { checkRemoteName, normalizeUrl, openRemote, readRemotes, writeRemotes, type OpenedRemote } from '../remotes.js';

export interface CommandContext {
  globals(): { repo?: string | undefined; store?: string | undefined };
  out(s: string): void;
  json(v: unknown): void;
  withRepo<T>(fn: (repo: Repo) => Promise<T>): Promise<T>;
}

const short = (h: Hash | undefined): string => (h === undefined ? '(none)' : bytesToHex(h).slice(0, 12));

function remoteUrl(ctx: CommandContext, name: string): string {
  if (ctx.globals().store !== undefined) throw new CliError('remotes are kept in a repository on disk; this one is on a store (use the URL itself)');
  const r = readRemotes(repoPath(ctx.globals().repo))[name];
  if (r === undefined) {
    // A URL or a path works in place of a name, as in git.
    if (/^https?:\/\/|^rediss?:\/\//.test(name) || existsSync(name)) return normalizeUrl(name);
    throw new CliError(`no remote ${JSON.stringify(name)} (see \`cafs remote -v\`; add one with \`cafs remote add ${name} URL\`)`);
  }
  return r.url;
}

async function withRemote<T>(url: string, fn: (r: OpenedRemote) => Promise<T>): Promise<T> {
  const r = await openRemote(url);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

const transfer = (r: OpenedRemote, report: { blobs: number; bytes: number }): Record<string, number> => ({
  blobs: report.blobs,
  bytes: report.bytes,
  ...(r.http ? { requests: r.http.requests, bytesIn: r.http.bytesIn, bytesOut: r.http.bytesOut } : {}),
});

function printFetch(ctx: CommandContext, name: string, f: FetchResult): void {
  for (const u of f.updated) ctx.out(`${name}/${u.branch}: ${short(u.old)} -> ${short(u.new)}`);
  for (const p of f.pruned) ctx.out(`${name}/${p}: deleted on the remote`);
  if (f.updated.length === 0 && f.pruned.length === 0) ctx.out(`${name}: up to date`);
  ctx.out(`received ${f.report.blobs} blobs, ${f.report.bytes} bytes`);
}

export function remoteCommands(program: Command, ctx: CommandContext): void {
  const remote = program
    .command('remote')
    .description('the repositories this one fetches from and pushes to: `remote add NAME URL`, `remote remove NAME`, `remote -v`')
    .option('-v, --verbose', 'show URLs')
    .option('--json', 'print as JSON')
    .action((o: { verbose?: boolean; json?: boolean }) => {
      const remotes = readRemotes(repoPath(ctx.globals().repo));
      if (o.json) return ctx.json(remotes);
      for (const [name, r] of Object.entries(remotes)) ctx.out(o.verbose ? `${name}\t${r.url}` : name);
    });
  remote
    .command('add')
    .argument('<name>')
    .argument('<url>', 'http(s)://host:port of a `cafs serve`, the path of another repository, or redis://...')
    .description('add a remote')
    .action((name: string, url: string) => {
      const dir = repoPath(ctx.globals().repo);
      const remotes = readRemotes(dir);
      if (remotes[checkRemoteName(name)] !== undefined) throw new CliError(`remote ${name} exists already (${remotes[name]!.url})`);
      remotes[name] = { url: normalizeUrl(url) };
      writeRemotes(dir, remotes);
    });
  remote
    .command('remove')
    .alias('rm')
    .argument('<name>')
    .description('remove a remote and its remote-tracking branches')
    .action(async (name: string) => {
      const dir = repoPath(ctx.globals().repo);
      const remotes = readRemotes(dir);
      if (remotes[name] === undefined) throw new CliError(`no remote ${JSON.stringify(name)}`);
      delete remotes[name];
      await ctx.withRepo(async (repo) => {
        for await (const [k, h] of repo.names.list(`refs/remotes/${name}/`)) await repo.names.compareAndSwap(k, h, undefined);
      });
      writeRemotes(dir, remotes);
    });

  program
    .command('clone')
    .argument('<url>', 'http(s)://host:port of a `cafs serve`, or the path of another repository')
    .argument('[dir]', 'where to create the repository (default: the name of the source)')
    .description('a new repository with every branch of another, which becomes its remote "origin"')
    .option('--compress [zstd[:LEVEL]]', 'make the new repository compressed (as `cafs init --compress`); the source\'s own codecs do not carry over')
    .option('--encrypt', 'make the new repository encrypted (as `cafs init --encrypt`), with the secret from --key-file, $CAFS_KEY_FILE or $CAFS_KEY')
    .option('--json', 'print the result as JSON')
    .action(async (urlArg: string, dirArg: string | undefined, o: { json?: boolean; compress?: string | boolean; encrypt?: boolean }) => {
      const url = normalizeUrl(urlArg);
      const compress = parseCompress(o.compress);
      const secret = o.encrypt === true ? readSecret() : undefined;
      if (o.encrypt === true && secret === undefined) throw Object.assign(new CliError('--encrypt needs a secret: --key-file FILE, $CAFS_KEY_FILE or $CAFS_KEY'), { code: 'ERR_KEY_REQUIRED' });
      const dir = resolvePath(dirArg ?? (/^https?:/.test(url) ? new URL(url).host.replace(/[:]/g, '-') : basename(url.replace(/\/\.cafs$/, ''))));
      if (existsSync(join(dir, REPO_DIR))) throw new CliError(`${dir} holds a repository already`);
      if (existsSync(dir) && readdirSync(dir).length > 0 && dirArg === undefined) throw new CliError(`${dir} exists and is not empty (name another directory)`);
      mkdirSync(join(dir, REPO_DIR), { recursive: true });
      // First, so that a clone cut short can be finished with `cafs fetch`.
      writeRemotes(join(dir, REPO_DIR), { origin: { url } });
      const repo = await openLocalRepo(join(dir, REPO_DIR), { codecs: { compress, encrypt: o.encrypt === true ? true : undefined, secret } });
      try {
        const bar = await syncBar('cloning', o.json === true);
        const f = await withRemote(url, async (r) => {
          const res = await fetchRemote(repo, r.remote, 'origin', { onProgress: bar.update });
          return { res, stats: transfer(r, res.report) };
        }).finally(() => bar.stop());
        for (const [branch, commit] of f.res.refs.branches) await repo.setBranch(branch, commit, undefined);
        if (o.json) return ctx.json({ path: dir, branches: Object.fromEntries([...f.res.refs.branches].map(([b, h]) => [b, bytesToHex(h)])), ...f.stats });
        ctx.out(`cloned ${url} into ${dir}: ${f.res.refs.branches.size} branches, ${f.res.report.blobs} blobs, ${f.res.report.bytes} bytes`);
      } finally {
        await repo.close();
      }
    });

  program
    .command('fetch')
    .argument('[remote]', 'a remote name (or URL)', 'origin')
    .description("copy the remote's new commits here; its branches become REMOTE/BRANCH")
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const url = remoteUrl(ctx, name);
      await ctx.withRepo(async (repo) => {
        const bar = await syncBar('fetching', o.json === true);
        const { f, stats } = await withRemote(url, async (r) => {
          const f = await fetchRemote(repo, r.remote, name, { onProgress: bar.update });
          return { f, stats: transfer(r, f.report) };
        }).finally(() => bar.stop());
        if (o.json) return ctx.json({ remote: name, updated: f.updated.map((u) => ({ branch: u.branch, old: u.old && bytesToHex(u.old), new: bytesToHex(u.new) })), pruned: f.pruned, ...stats });
        printFetch(ctx, name, f);
      });
    });

  program
    .command('pull')
    .argument('[remote]', 'a remote name (or URL)', 'origin')
    .argument('[branch]', 'the branch to update', 'main')
    .description('fetch, then fast-forward the branch to REMOTE/BRANCH or merge it (three-way)')
    .option('-m, --message <msg>', 'the merge commit message')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, branch: string, o: { message?: string; json?: boolean }) => {
      const url = remoteUrl(ctx, name);
      await ctx.withRepo(async (repo) => {
        const bar = await syncBar('fetching', o.json === true);
        const { f, stats } = await withRemote(url, async (r) => {
          const f = await fetchRemote(repo, r.remote, name, { onProgress: bar.update });
          return { f, stats: transfer(r, f.report) };
        }).finally(() => bar.stop());
        const theirs = f.refs.branches.get(branch);
        if (theirs === undefined) throw new CliError(`${name} has no branch ${branch}`);
        const mine = (await repo.branches()).find((b) => b.name === branch)?.commit;
        let commit: Hash = theirs;
        let how: string;
        if (mine === undefined) {
          await repo.setBranch(branch, theirs, undefined);
          how = 'created';
        } else {
          const m = await repo.merge(branch, `${name}/${branch}`, { message: o.message ?? `merge ${name}/${branch} into ${branch}` });
          const res = m as unknown as { commit?: Hash; fastForward?: boolean; conflicts: { kind: string; path: string }[] };
          if (res.commit === undefined) {
            for (const c of res.conflicts) process.stderr.write(`CONFLICT (${c.kind}): ${c.path}\n`);
            throw new CliError(`pull: merging ${name}/${branch} into ${branch} has ${res.conflicts.length} conflicts; nothing committed (cafs merge ${name}/${branch} --allow-conflicts)`);
          }
          commit = res.commit;
          how = bytesToHex(res.commit) === bytesToHex(mine) ? 'up to date' : res.fastForward ? 'fast-forward' : 'merged';
        }
        if (o.json) return ctx.json({ remote: name, branch, commit: bytesToHex(commit), how, ...stats });
        printFetch(ctx, name, f);
        ctx.out(`${branch} ${short(commit)} (${how})`);
      });
    });

  program
    .command('push')
    .argument('[remote]', 'a remote name (or URL)', 'origin')
    .argument('[branch]', 'the local branch to push (to the remote branch of the same name)', 'main')
    .description("send a branch's new commits to the remote and move its branch (fast-forward unless --force); $CAFS_TOKEN is the bearer token")
    .option('-f, --force', 'move the remote branch even if that drops its commits')
    .option('--mount <dir>', 'push what a `cafs mount URL/b/BRANCH DIR --writable` holds (commits it first)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, branch: string, o: { force?: boolean; mount?: string; json?: boolean }) => {
      if (o.mount !== undefined) {
        const r = await requestPush(o.mount, o.force === true);
        if (o.json) return ctx.json({ mountpoint: o.mount, commit: r.commit, detail: r.detail });
        return ctx.out(r.detail ?? `pushed ${r.commit ?? ''}`);
      }
      const url = remoteUrl(ctx, name);
      await ctx.withRepo(async (repo) => {
        const bar = await syncBar('pushing', o.json === true);
        const { p, stats } = await withRemote(url, async (r) => {
          const p = await pushBranch(repo, r.remote, name, branch, { force: o.force === true, onProgress: bar.update });
          return { p, stats: transfer(r, p.report) };
        }).finally(() => bar.stop());
        if (o.json) return ctx.json({ remote: name, branch: p.branch, old: p.old && bytesToHex(p.old), new: bytesToHex(p.new), upToDate: p.upToDate, ...stats });
        ctx.out(p.upToDate ? `${name}/${p.branch}: up to date` : `${name}/${p.branch}: ${short(p.old)} -> ${short(p.new)}; sent ${p.report.blobs} blobs, ${p.report.bytes} bytes`);
      });
    });
}
