// Child processes for the suites: run a command to completion, its output and its wall time.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Ran {
  out: string;
  err: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
}

export interface ExecOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Holds the child while it runs (for a signal handler to stop it). */
  running?: Set<ChildProcess> | undefined;
}

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    opts.running?.add(child);
    child.on('exit', () => opts.running?.delete(child));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ out, err, ms });
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? signal}: ${err.trim() || out.trim()}`));
    });
  });
}
