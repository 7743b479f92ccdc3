// `cafs import` of a tree that changes while it is read (issue 23): entries that vanish are left
// out (and reported), files that change are read again, and no file is ever recorded torn. A
// git checkout with background maintenance does this to an import (its lock files come and go).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cafs } from './run-cafs.js';

const work = mkdtempSync(join(tmpdir(), 'cafs-churn-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The versions the churner writes to hot.bin: distinct sizes and bytes, each written whole then renamed in. */
const versions = [1, 2, 3].map((v) => 'v'.repeat(v * 100_000) + String(v));

describe('import while the tree changes', () => {
  it('skips what vanished, re-reads what changed, records every file whole', async () => {
    const src = join(work, 'src');
    for (let d = 0; d < 30; d++) {
      mkdirSync(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
    }
    writeFileSync(join(src, 'hot.bin'), versions[0]!);
    mkdirSync(join(src, 'churn'));
    for (let v = 0; v < 3; v++) writeFileSync(join(work, `hot${v}`), versions[v]!);
    // Lock files made and removed without pause, directories too, and hot.bin replaced over and over.
    const churner = spawn(
      'sh',
      ['-c', `cd '${src}'; i=0; while :; do i=$((i+1)); : > churn/$i.lock; mkdir churn/d$i; : > d$((i % 30))/tmp.lock; rm -f churn/$((i-1)).lock d$(((i+29) % 30))/tmp.lock; rmdir churn/d$((i-1)) 2>/dev/null; cp '${work}'/hot$((i % 3)) hot.tmp && mv hot.tmp hot.bin; done`],
      { stdio: 'ignore' },
    );
    try {
      expect((await cafs(work, 'init')).code).toBe(0);
      let skipped = 0;
      for (let round = 0; round < 4; round++) {
        const r = await cafs(work, 'import', src, '--json', '-m', `round ${round}`);
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout) as { files: number; skipped: { path: string; reason: string }[]; reread: string[] };
        expect(j.files).toBeGreaterThanOrEqual(3001);
        for (const s of j.skipped) {
          expect(s).toMatchObject({ reason: expect.stringMatching(/^(vanished|busy)$/), path: expect.stringMatching(/^\/(churn\/|d\d+\/tmp\.lock|hot\.(tmp|bin))/) });
        }
        skipped += j.skipped.length;
        // hot.bin is one whole version, never a mix or a prefix (or, replaced on every read, left out).
        const hot = await cafs(work, 'cat', 'main:/hot.bin');
        if (j.skipped.some((s) => s.path === '/hot.bin' && s.reason === 'busy')) expect(hot.code).toBe(1);
        else expect(versions).toContain(hot.stdout);
        expect((await cafs(work, 'cat', 'main:/d7/f42.txt')).stdout).toBe('file 7/42\n');
      }
      // The churn was fast enough for some entries to vanish mid-walk (else this test proves little).
      expect(skipped).toBeGreaterThan(0);
    } finally {
      churner.kill('SIGKILL');
    }
  }, 120_000);
});
