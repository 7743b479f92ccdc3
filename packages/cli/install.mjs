#!/usr/bin/env node
// `pnpm install-cli`: puts `cafs` on PATH as a link to this checkout's built command.
// Where: $PREFIX/bin if PREFIX is set, else /usr/local/bin when writable, else ~/.local/bin.
import { accessSync, chmodSync, constants, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = join(dirname(fileURLToPath(import.meta.url)), 'dist', 'main.js');
try {
  accessSync(target);
} catch {
  console.error(`install-cli: ${target} is missing; run \`pnpm build\` first`);
  process.exit(1);
}
chmodSync(target, 0o755);

const writable = (dir) => {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};
const binDir = process.env.PREFIX ? join(process.env.PREFIX, 'bin') : writable('/usr/local/bin') ? '/usr/local/bin' : join(homedir(), '.local', 'bin');
mkdirSync(binDir, { recursive: true });
const link = join(binDir, 'cafs');
try {
  if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
  else {
    console.error(`install-cli: ${link} exists and is not a link; remove it first`);
    process.exit(1);
  }
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
symlinkSync(target, link);
console.log(`installed ${link} -> ${target}`);
if (!(process.env.PATH ?? '').split(':').includes(binDir)) console.log(`(add ${binDir} to PATH)`);
