// cafs init: create a repository (on disk or on a Redis Cluster), plain, compressed or encrypted.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { CodecOpenOptions } from '@cafs/kv';
import { CliError } from '../errors.js';
import { REPO_DIR, openLocalRepo, openRedisRepo, parseCompress, readSecret } from '../repo-open.js';
import { hex, out, json, example, type Context } from './shared.js';

interface InitOptions {
  branch: string;
  json?: boolean;
  compress?: string | boolean;
  encrypt?: boolean;
  keyFile?: string;
}

/**
 * The codecs `cafs init` asks for. With --encrypt the secret comes from --key-file FILE (made,
 * 32 random bytes as hex, mode 0600, when FILE does not exist), $CAFS_KEY_FILE or $CAFS_KEY.
 */
function codecsOf(o: InitOptions): { codecs: CodecOpenOptions; made?: string } {
  const compress = parseCompress(o.compress);
  if (!o.encrypt) {
    if (o.keyFile !== undefined) throw new CliError('--key-file is for --encrypt');
    return { codecs: { compress } };
  }
  let made: string | undefined;
  if (o.keyFile !== undefined && !existsSync(o.keyFile)) {
    writeFileSync(o.keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    made = resolvePath(o.keyFile);
  }
  const secret = readSecret(o.keyFile);
  if (secret === undefined) throw Object.assign(new CliError('--encrypt needs a secret: --key-file FILE (created if missing), $CAFS_KEY_FILE or $CAFS_KEY'), { code: 'ERR_KEY_REQUIRED' });
  return { codecs: { compress, encrypt: true, secret }, made };
}

const describeCodecs = (c: CodecOpenOptions): string =>
  [c.compress ? `zstd:${c.compress.level}` : undefined, c.encrypt ? 'encrypted' : undefined].filter((x) => x !== undefined).join(', ') || 'plain';

export function initCommand(program: Command, ctx: Context): void {
  const { globals } = ctx;
  example(
    program
      .command('init')
      .description('create a repository in ./.cafs (or --repo DIR) with a branch "main"')
      .option('-b, --branch <name>', 'first branch', 'main')
      .option('--compress [zstd[:LEVEL]]', 'store blobs zstd-compressed (level 3 by default) where that saves space; roots are unchanged')
      .option('--encrypt', 'store blobs encrypted (convergent: ChaCha20-Poly1305); the secret from --key-file, $CAFS_KEY_FILE or $CAFS_KEY')
      .option('--key-file <file>', 'with --encrypt: the file holding the secret (created with a random one when missing)')
      .option('--json', 'print the result as JSON')
      .action(async (o: InitOptions) => {
        const g = globals();
        // `cafs init --key-file F` and `cafs --key-file F init` are the same (the global option takes it).
        const { codecs, made } = codecsOf({ ...o, keyFile: o.keyFile ?? (g as { keyFile?: string }).keyFile });
        const shown = describeCodecs(codecs);
        if (made !== undefined) process.stderr.write(`cafs: wrote a new random secret to ${made} (mode 0600): keep it, the repository cannot be read without it\n`);
        if (g.store !== undefined) {
          const repo = await openRedisRepo(g.store, { codecs });
          try {
            if ((await repo.branches()).length > 0) throw new CliError(`a repository exists already on ${g.store.replace(/\/\/[^@/]*@/, '//')}`);
            const commit = await repo.init({ branch: o.branch });
            if (o.json) return json({ store: 'redis', branch: o.branch, commit: hex(commit), codecs: shown, keyFile: made });
            out(`initialized a repository on the Redis Cluster (branch ${o.branch}, ${shown})`);
            return;
          } finally {
            await repo.close();
          }
        }
        const dir = g.repo !== undefined ? (g.repo.endsWith(REPO_DIR) ? resolvePath(g.repo) : join(resolvePath(g.repo), REPO_DIR)) : join(process.cwd(), REPO_DIR);
        await mkdir(dir, { recursive: true });
        const repo = await openLocalRepo(dir, { codecs });
        try {
          if ((await repo.branches()).length > 0) throw new CliError(`a repository exists already in ${dir}`);
          const commit = await repo.init({ branch: o.branch });
          if (o.json) json({ path: dir, branch: o.branch, commit: hex(commit), codecs: shown, keyFile: made });
          else out(`initialized an empty cafs repository in ${dir} (branch ${o.branch}, ${shown})`);
        } finally {
          await repo.close();
        }
      }),
    'cafs init\ncafs --repo /srv/data init\ncafs init --compress            # zstd level 3\ncafs init --compress zstd:9 --encrypt --key-file ~/.cafs-key',
  );
}
