// cafs serve: the repository over HTTP (the server is in ../http/).
import type { Command } from 'commander';
import { Repo } from '@cafs/repo';
import { CliError } from '../errors.js';
import { openRepo, parseCompress, repoPath } from '../repo-open.js';
import { importDirectory } from '../import.js';
import { holdIfOwner } from '../holder.js';
import { hex, out, example, type Context } from './shared.js';

export function serveCommand(program: Command, ctx: Context): void {
  const { globals } = ctx;
  example(
    program
      .command('serve')
      .argument('[branches...]', 'serve only these branches under /b/ (default: all)')
      .description('serve the repository over HTTP (read-only): /r/<root>/<path>, /b/<branch>/<path>, /diff/<a>..<b>')
      .option('-p, --port <n>', 'port (0: any free port)', '8080')
      .option('--host <addr>', 'address to listen on', '127.0.0.1')
      .option('--import <dir>', 'with --memory: import this directory as branch main first')
      .option('--compress [zstd[:LEVEL]]', 'with --memory: keep blobs zstd-compressed in RAM (level 3 by default); roots are unchanged')
      .option('--max-connections <n>', 'refuse connections beyond this many', '1024')
      .option('--headers-timeout <s>', 'a client must send its request headers within this many seconds', '10')
      .option('--idle-timeout <s>', 'cut a connection on which nothing moves for this many seconds (slow readers)', '30')
      .option('--shutdown-timeout <s>', 'on SIGTERM/SIGINT, let responses in flight finish for this many seconds', '2')
      .option('--allow-push', 'accept pushes (blobs and branch updates) from clients with the token')
      .option('--token-file <file>', 'the bearer token pushes must present (default: $CAFS_TOKEN)')
      .action(async (branches: string[], o: { port: string; host: string; import?: string; maxConnections: string; headersTimeout: string; idleTimeout: string; shutdownTimeout: string; allowPush?: boolean; tokenFile?: string; compress?: string | boolean }) => {
        const { serve } = await import('../http/index.js');
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`bad port ${o.port}`);
        const seconds = (flag: string, v: string): number => {
          const n = Number(v);
          if (!(Number.isFinite(n) && n > 0 && n <= 86400)) throw new CliError(`${flag} takes a number of seconds above 0 (got ${JSON.stringify(v)})`);
          return Math.round(n * 1000);
        };
        const maxConnections = Number(o.maxConnections);
        if (!(Number.isSafeInteger(maxConnections) && maxConnections > 0)) throw new CliError(`--max-connections takes a positive whole number (got ${JSON.stringify(o.maxConnections)})`);
        const limits = { maxConnections, headersTimeoutMs: seconds('--headers-timeout', o.headersTimeout), idleTimeoutMs: seconds('--idle-timeout', o.idleTimeout) };
        const shutdownMs = seconds('--shutdown-timeout', o.shutdownTimeout);
        let push: { token: string } | undefined;
        if (o.allowPush) {
          const { readFileSync } = await import('node:fs');
          const token = o.tokenFile !== undefined ? readFileSync(o.tokenFile, 'utf8').trim() : process.env['CAFS_TOKEN'];
          if (token === undefined || token.length < 8) throw new CliError('--allow-push needs a token of at least 8 characters: --token-file FILE or $CAFS_TOKEN');
          push = { token };
        }
        let repo: Repo;
        const compress = parseCompress(o.compress);
        if (compress !== undefined && !globals().memory) throw new CliError('--compress is for a RAM-only repository (--memory); a repository on disk is compressed from `cafs init --compress`');
        if (globals().memory) {
          repo = await Repo.open({ codecs: compress === undefined ? undefined : { compress } });
          await repo.init();
          if (o.import !== undefined) {
            const r = await importDirectory(repo, o.import);
            await repo.commit('main', r.root, `import ${o.import}`);
            out(`imported ${r.files} files into memory${compress === undefined ? '' : ` (zstd:${compress.level})`}: root ${hex(r.root)}`);
          }
        } else {
          if (o.import !== undefined) throw new CliError('--import needs --memory (use `cafs import` for a repository on disk)');
          repo = await openRepo(globals().repo, globals().store);
        }
        for (const b of branches) await repo.head(b);
        // Other cafs commands reach the repository through this process while it serves.
        const holder = globals().memory || globals().store !== undefined ? undefined : await holdIfOwner(repo, repoPath(globals().repo), { inUse: branches });
        const server = await serve(repo, { port, host: o.host, branches: branches.length > 0 ? branches : undefined, push, ...limits }).catch(async (err: unknown) => {
          await holder?.close();
          await repo.close();
          throw new CliError(`cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`);
        });
        out(`serving on http://${o.host}:${server.port}/${push ? ' (pushes allowed with the token)' : ''}`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        // Stop accepting; responses in flight get the deadline, then are cut.
        await server.shutdown(shutdownMs);
        await holder?.close();
        await repo.close();
      }),
    'cafs serve --port 8080\ncurl localhost:8080/b/main/README.md\ncafs serve site --port 0\ncafs --memory serve --import ./public\ncafs --memory serve --import ./public --compress',
  );
}
