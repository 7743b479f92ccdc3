import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../src/index.js';
import { bytes, codeOf, hex, newFs } from './helpers.js';

// A forked batch sees its parent's operations and flushes onto the parent's root: flushing the
// parent, then the fork, gives the roots applying the two groups of operations in turn gives.
type Op = { kind: 'write' | 'append' | 'unlink' | 'mkdir' | 'chmod' | 'rename' | 'rmdir'; a: number; b: number; n: number };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('write' as const, 'append' as const, 'unlink' as const, 'mkdir' as const, 'chmod' as const, 'rename' as const, 'rmdir' as const),
  a: fc.nat(5),
  b: fc.nat(5),
  n: fc.nat(9000),
});

const paths = ['/a', '/b', '/d/x', '/d/y', '/e', '/d'];

/** Applies an op, ignoring the filesystem errors it may meet (the same in both runs). */
async function apply(b: Batch, o: Op): Promise<void> {
  const p = paths[o.a]!;
  const q = paths[o.b]!;
  const run = async (): Promise<unknown> => {
    switch (o.kind) {
      case 'write':
        return b.writeFile(p, bytes(o.n, o.n + 1));
      case 'append':
        return b.appendFile(p, bytes(o.n % 300, o.n + 7));
      case 'unlink':
        return b.unlink(p);
      case 'mkdir':
        return b.mkdir(p);
      case 'chmod':
        return b.chmod(p, 0o600 + (o.n % 64));
      case 'rename':
        return b.rename(p, q);
      case 'rmdir':
        return b.rmdir(p);
    }
  };
  await codeOf(run());
}

describe('Batch.fork', () => {
  it('flushing the parent then the fork gives the roots of applying both groups in turn', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), fc.array(op, { maxLength: 12 }), async (first, second) => {
        const fs = newFs();
        let root = await fs.mkfs();
        root = await fs.mkdir(root, '/d');
        // In turn: two batches, one after the other's root.
        const one = fs.batch(root);
        for (const o of first) await apply(one, o);
        const mid = await one.flush();
        const two = fs.batch(mid);
        for (const o of second) await apply(two, o);
        const end = await two.flush();
        // Forked: the second group runs before the first is flushed, and reads what it left.
        const parent = fs.batch(root);
        for (const o of first) await apply(parent, o);
        const child = parent.fork();
        for (const o of second) await apply(child, o);
        expect(await child.readdir('/')).toEqual(await fs.readdir(end, '/'));
        expect(hex(await parent.flush())).toBe(hex(mid));
        expect(hex(await child.flush())).toBe(hex(end));
      }),
      { numRuns: 60 },
    );
  });

  it('a fork cannot be flushed before its parent', async () => {
    const fs = newFs();
    const parent = fs.batch(await fs.mkfs());
    await parent.writeFile('/f', 'x');
    const child = parent.fork();
    await child.chmod('/f', 0o600);
    await expect(child.flush()).rejects.toThrow(/after its parent/);
  });
});
