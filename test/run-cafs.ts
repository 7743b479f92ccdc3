// The built `cafs` binary, run as a user runs it, for the CLI tests: exit code and both streams.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'packages/cli/dist/main.js');
export const run = promisify(execFile);

export interface CafsResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `cafs ARGS` in `cwd`; never throws for a failing command (its code says so). */
export async function cafs(cwd: string, ...args: string[]): Promise<CafsResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Starts `cafs serve --port 0 --repo REPO FLAGS...`; resolves with the process and its base URL once it listens. */
export async function startServe(repoDir: string, ...flags: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--repo', repoDir, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) res(m[1]!);
    });
    child.once('exit', (c) => rej(new Error(`serve exited ${c}: ${out}`)));
  });
  return { child, url };
}

/** Starts `cafs ARGS` (a mount) in `cwd`; resolves with the process once it prints its "mounted" line. */
export function startMount(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('mounted ')) ok(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => fail(Object.assign(new Error(`cafs mount exited ${code}: ${out}`), { child })));
  });
}

/** SIGTERM, then waits for the exit (at once if it already exited). */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once('exit', () => ok());
    child.kill('SIGTERM');
  });
}
