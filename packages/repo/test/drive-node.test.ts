// A Drive against real node:fs/promises in a tmpfs directory: same contents, same error codes.
import * as nfs from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Repo } from '../src/repo.js';
import { Drive } from '../src/drive/drive.js';

const BASE = '/dev/shm';
const names = ['a', 'b', 'd', 'd/a', 'd/b', 'd/e', 'd/e/a', 'a/x'];
const pathArb = fc.constantFrom(...names);
const dataArb = fc.uint8Array({ minLength: 0, maxLength: 24 });
const posArb = fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 40 }));

type HandleStep =
  | { k: 'write'; data: Uint8Array; pos: number | null }
  | { k: 'read'; len: number; pos: number | null }
  | { k: 'truncate'; len: number }
  | { k: 'stat' };

type Step =
  | { k: 'writeFile'; p: string; data: Uint8Array; flag: 'w' | 'wx' | 'a' }
  | { k: 'appendFile'; p: string; data: Uint8Array }
  | { k: 'mkdir'; p: string; recursive: boolean }
  | { k: 'rm'; p: string; recursive: boolean; force: boolean }
  | { k: 'rmdir'; p: string }
  | { k: 'unlink'; p: string }
  | { k: 'rename'; p: string; q: string }
  | { k: 'truncate'; p: string; len: number }
  | { k: 'copyFile'; p: string; q: string }
  | { k: 'handle'; p: string; flags: string; steps: HandleStep[] };

const handleStepArb: fc.Arbitrary<HandleStep> = fc.oneof(
  fc.record({ k: fc.constant('write' as const), data: dataArb, pos: posArb }),
  fc.record({ k: fc.constant('read' as const), len: fc.integer({ min: 0, max: 30 }), pos: posArb }),
  fc.record({ k: fc.constant('truncate' as const), len: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ k: fc.constant('stat' as const) }),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('writeFile' as const), p: pathArb, data: dataArb, flag: fc.constantFrom('w' as const, 'wx' as const, 'a' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('appendFile' as const), p: pathArb, data: dataArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('mkdir' as const), p: pathArb, recursive: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rm' as const), p: pathArb, recursive: fc.boolean(), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rmdir' as const), p: pathArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unlink' as const), p: pathArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('rename' as const), p: pathArb, q: pathArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), p: pathArb, len: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('copyFile' as const), p: pathArb, q: pathArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('handle' as const),
      p: pathArb,
      flags: fc.constantFrom('r', 'r+', 'w', 'w+', 'wx', 'a', 'a+'),
      steps: fc.array(handleStepArb, { maxLength: 6 }),
    }),
  },
);

/** What both sides must agree on: node:fs/promises or a Drive, addressed from a base path. */
interface Target {
  at(p: string): string;
  fs: Pick<typeof nfs, 'writeFile' | 'appendFile' | 'mkdir' | 'rm' | 'rmdir' | 'unlink' | 'rename' | 'truncate' | 'copyFile' | 'readdir' | 'readFile' | 'lstat'> & {
    open(p: string, flags: string): Promise<{
      write(b: Uint8Array, o: number, l: number, p: number | null): Promise<{ bytesWritten: number }>;
      read(b: Uint8Array, o: number, l: number, p: number | null): Promise<{ bytesRead: number }>;
      truncate(len: number): Promise<void>;
      stat(): Promise<{ size: number; isDirectory(): boolean }>;
      close(): Promise<void>;
    }>;
  };
}

const codeOf = (e: unknown): string => {
  const c = (e as { code?: string }).code ?? String(e);
  return c === 'ERR_FS_EISDIR' ? 'EISDIR' : c;
};

async function run(t: Target, steps: Step[]): Promise<unknown[]> {
  const out: unknown[] = [];
  const rec = async (f: () => Promise<unknown>): Promise<void> => {
    try {
      const v = await f();
      out.push(v === undefined ? 'ok' : v);
    } catch (e) {
      out.push(codeOf(e));
    }
  };
  for (const s of steps) {
    switch (s.k) {
      case 'writeFile':
        await rec(() => t.fs.writeFile(t.at(s.p), s.data, { flag: s.flag }));
        break;
      case 'appendFile':
        await rec(() => t.fs.appendFile(t.at(s.p), s.data));
        break;
      case 'mkdir':
        await rec(async () => {
          const r = await t.fs.mkdir(t.at(s.p), { recursive: s.recursive });
          return r === undefined ? 'ok' : 'created:' + r.slice(t.at('').length - 1);
        });
        break;
      case 'rm':
        await rec(() => t.fs.rm(t.at(s.p), { recursive: s.recursive, force: s.force }));
        break;
      case 'rmdir':
        await rec(() => t.fs.rmdir(t.at(s.p)));
        break;
      case 'unlink':
        await rec(() => t.fs.unlink(t.at(s.p)));
        break;
      case 'rename':
        await rec(() => t.fs.rename(t.at(s.p), t.at(s.q)));
        break;
      case 'truncate':
        await rec(() => t.fs.truncate(t.at(s.p), s.len));
        break;
      case 'copyFile':
        // libuv's copyfile of a directory creates, then removes the destination: not worth copying.
        if (await t.fs.lstat(t.at(s.p)).then((st) => st.isDirectory(), () => false)) out.push('skipped');
        else await rec(() => t.fs.copyFile(t.at(s.p), t.at(s.q)));
        break;
      case 'handle': {
        let h: Awaited<ReturnType<Target['fs']['open']>>;
        try {
          h = await t.fs.open(t.at(s.p), s.flags);
          out.push('opened');
        } catch (e) {
          out.push(codeOf(e));
          break;
        }
        for (const hs of s.steps) {
          if (hs.k === 'write') await rec(async () => (await h.write(hs.data, 0, hs.data.length, hs.pos)).bytesWritten);
          else if (hs.k === 'read')
            await rec(async () => {
              const buf = new Uint8Array(hs.len);
              const { bytesRead } = await h.read(buf, 0, hs.len, hs.pos);
              return [...buf.subarray(0, bytesRead)].join(',');
            });
          else if (hs.k === 'truncate') await rec(() => h.truncate(hs.len));
          else
            await rec(async () => {
              // Directory sizes are the host filesystem's business (tmpfs says 40 and up).
              const st = await h.stat();
              return st.isDirectory() ? 'dir' : st.size;
            });
        }
        await h.close();
        break;
      }
    }
  }
  return out;
}

/** Every path under the base with its type and, for files, its bytes. */
async function snapshot(t: Target, dir = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = ((await t.fs.readdir(t.at(dir))) as string[]).sort();
  for (const n of names) {
    const p = dir === '' ? n : `${dir}/${n}`;
    const st = await t.fs.lstat(t.at(p));
    if (st.isDirectory()) {
      out[p] = 'dir';
      Object.assign(out, await snapshot(t, p));
    } else out[p] = 'file:' + [...(await t.fs.readFile(t.at(p)))].join(',');
  }
  return out;
}

let counter = 0;
const made: string[] = [];
afterAll(async () => {
  for (const d of made) await nfs.rm(d, { recursive: true, force: true });
});

describe('Drive against node:fs/promises on tmpfs', () => {
  it('random sequences give the same results, errors and trees', async () => {
    const repo = await Repo.open();
    const root = await nfs.mkdtemp(join(BASE, 'cafs-drive-'));
    made.push(root);
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const dir = join(root, String(counter++));
        await nfs.mkdir(dir);
        const drive = new Drive(repo, { root: await repo.fs.mkfs() });
        const real: Target = { at: (p) => join(dir, p) + (p === '' ? '/' : ''), fs: nfs as unknown as Target['fs'] };
        const ours: Target = { at: (p) => '/' + p, fs: drive as unknown as Target['fs'] };
        const expected = await run(real, steps);
        const got = await run(ours, steps);
        expect(got).toEqual(expected);
        expect(await snapshot(ours)).toEqual(await snapshot(real));
        await nfs.rm(dir, { recursive: true, force: true });
      }),
      { numRuns: 300 },
    );
  });
});
