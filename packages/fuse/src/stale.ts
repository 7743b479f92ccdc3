// Mounts left behind by a process that died: detected and cleared before mounting again.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';

export function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(cmd, args, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
}

/** True if `mountpoint` is listed as mounted in /proc/self/mountinfo. */
async function listedAsMount(mountpoint: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  try {
    const text = await readFile('/proc/self/mountinfo', 'utf8');
    const escaped = mountpoint.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
    return text.split('\n').some((line) => line.split(' ')[4] === escaped);
  } catch {
    return false;
  }
}

/**
 * Clears a stale FUSE mount (its process gone: ENOTCONN) at `mountpoint` with `fusermount -uz`.
 * A live mount is left alone; returns whether something was cleared.
 */
export async function clearStaleMount(mountpoint: string): Promise<boolean> {
  const mp = resolvePath(mountpoint);
  let stale = false;
  try {
    await stat(mp);
  } catch (err) {
    const code = (err as { code?: string }).code;
    stale = code === 'ENOTCONN' || code === 'ECONNABORTED' || code === 'ENXIO' || code === 'EIO';
  }
  if (!stale) return false;
  if (!(await listedAsMount(mp))) return false;
  await run('fusermount', ['-uz', mp]);
  return true;
}

