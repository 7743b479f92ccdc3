#!/usr/bin/env -S node --max-semi-space-size=4
// The `cafs` command. The young generation is capped at 4 MB semi-spaces (V8's default grows to
// 16): under many concurrent requests `serve` then keeps ~60 MB less resident, and measured
// import/export are no slower. The flag can only be given at start, hence the shebang.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { describeError } from './errors.js';
import { makeContext } from './commands/shared.js';
import { initCommand } from './commands/init.js';
import { importCommand } from './commands/import.js';
import { exportCommand } from './commands/export.js';
import { lsCommand } from './commands/ls.js';
import { catCommand } from './commands/cat.js';
import { statCommand } from './commands/stat.js';
import { diffCommand } from './commands/diff.js';
import { logCommand } from './commands/log.js';
import { reflogCommand } from './commands/reflog.js';
import { namesCommands } from './commands/names.js';
import { mergeCommand } from './commands/merge.js';
import { gcCommand } from './commands/gc.js';
import { fsckCommand } from './commands/fsck.js';
import { serveCommand } from './commands/serve.js';
import { watchCommand } from './commands/watch.js';
import { mountCommand } from './commands/mount.js';
import { commitCommand } from './commands/commit.js';
import { remoteCommands } from './commands/remote.js';
import { statsCommand } from './commands/stats.js';
import { setKeyFile } from './repo-open.js';

/** The program with every command registered (each command's wiring is in ./commands/). */
function build(): Command {
  const program = new Command('cafs')
    .description('cafs: a content-addressed, immutable filesystem with branches, history and merge')
    .option('--repo <dir>', 'the repository (default: ./.cafs, found by walking up)')
    .option('--store <url>', 'keep the repository on a Redis Cluster: redis://[user:password@]host:port[,host:port...] or rediss://... (default: $CAFS_STORE)', process.env['CAFS_STORE'])
    .option('--memory', 'serve (or mount) a RAM-only repository instead (see serve --import)')
    .option('--key-file <file>', 'the secret of an encrypted repository (default: $CAFS_KEY_FILE, else $CAFS_KEY)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addHelpText('after', `\nExample:\n  cafs init && cafs import ./site -m "first" && cafs ls -l main`);

  program.hook('preAction', () => setKeyFile(program.opts<{ keyFile?: string }>().keyFile));
  const ctx = makeContext(program);
  initCommand(program, ctx);
  importCommand(program, ctx);
  exportCommand(program, ctx);
  lsCommand(program, ctx);
  catCommand(program, ctx);
  statCommand(program, ctx);
  diffCommand(program, ctx);
  logCommand(program, ctx);
  reflogCommand(program, ctx);
  namesCommands(program, ctx);
  mergeCommand(program, ctx);
  gcCommand(program, ctx);
  fsckCommand(program, ctx);
  serveCommand(program, ctx);
  watchCommand(program, ctx);
  mountCommand(program, ctx);
  commitCommand(program, ctx);
  remoteCommands(program, ctx);
  statsCommand(program, ctx);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  // `cafs log | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const cmd = build();
  try {
    await cmd.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; usage errors were printed by commander.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : err.exitCode || 2;
    }
    const d = describeError(err);
    process.stderr.write(`cafs: ${d.line}\n`);
    if (!d.user && process.env['CAFS_DEBUG']) process.stderr.write(String((err as Error).stack) + '\n');
    return d.exitCode;
  }
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();
if (isMain) {
  main().then((code) => {
    process.exitCode = code;
  });
}
