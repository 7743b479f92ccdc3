// Trees for the sync suite: a generated one (deterministic), changes to a few of its files, and
// the big tree of 1 MiB files the lazy mount reads from.
import * as nfs from 'node:fs/promises';
import path from 'node:path';
import { Prng } from './prng.js';


const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'su', 'ta', 'ri', 'po', 'de', 'fu', 'gan', 'ber', 'tor', 'vel', 'qui', 'zen'];
const vocabulary = ((): string[] => {
  const r = new Prng(7);
  const words = ['const', 'return', 'function', 'import', 'export', 'if', 'else', '=', '{', '}', '(', ')', ';', '=>'];
  while (words.length < 600) words.push(Array.from({ length: 1 + r.below(3) }, () => SYLLABLES[r.below(SYLLABLES.length)]!).join(''));
  return words;
})();

/** Text of exactly `size` bytes: lines of words, random words of a shared vocabulary, about as compressible as source code. */
export function text(r: Prng, size: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  let line = 0;
  while (n < size) {
    const w = line > 60 + r.below(30) ? '\n' : (line === 0 ? '' : ' ') + vocabulary[r.below(vocabulary.length)]!;
    line = w === '\n' ? 0 : line + w.length;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

const TEXT_EXT = ['js', 'ts', 'md', 'json', 'txt', 'css', 'html'];
const BINARY_EXT = ['bin', 'png', 'wasm'];

/** The path of file `i` of `n`: 100 files per leaf directory, leaf directories nested 100 per level. */
function filePath(i: number, n: number, ext: string): string {
  const leaves = Math.ceil(n / 100);
  const width = Math.max(1, Math.ceil(Math.log(leaves) / Math.log(100)));
  const dirs: string[] = [];
  for (let j = Math.floor(i / 100), k = 0; k < width; k++, j = Math.floor(j / 100)) dirs.unshift(`d${String(j % 100).padStart(2, '0')}`);
  return path.join(...dirs, `f${String(i % 100).padStart(2, '0')}.${ext}`);
}

export interface Generated {
  files: number;
  bytes: number;
  binaryFiles: number;
  /** Relative paths of the text files: the ones the rounds change. */
  textFiles: string[];
}

/**
 * `n` files under `dir`: 99% text of 100 B-8 KiB, 1% random bytes of 64 KiB-1 MiB (both
 * log-uniform sizes); about 5.3 MB per 1000 files.
 */
export async function generateTree(dir: string, n: number): Promise<Generated> {
  const r = new Prng(42);
  const g: Generated = { files: n, bytes: 0, binaryFiles: 0, textFiles: [] };
  const made = new Set<string>();
  for (let i = 0; i < n; i++) {
    const binary = r.next() < 0.01;
    const rel = filePath(i, n, binary ? BINARY_EXT[r.below(BINARY_EXT.length)]! : TEXT_EXT[r.below(TEXT_EXT.length)]!);
    const data = binary ? r.bytes(r.logUniform(64 * 1024, 1024 * 1024)) : text(r, r.logUniform(100, 8192));
    const parent = path.dirname(rel);
    if (!made.has(parent)) {
      await nfs.mkdir(path.join(dir, parent), { recursive: true });
      made.add(parent);
    }
    await nfs.writeFile(path.join(dir, rel), data);
    g.bytes += data.length;
    if (binary) g.binaryFiles++;
    else g.textFiles.push(rel);
  }
  return g;
}

/** Regular files of at most `maxBytes` under `dir` (relative paths, sorted): the candidates for changes in a real tree. */
export async function smallFiles(dir: string, maxBytes: number): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await nfs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.join(rel, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && (await nfs.stat(path.join(dir, p))).size <= maxBytes) out.push(p);
    }
  };
  await walk('');
  return out.sort();
}

/** Rewrites `count` distinct files of `candidates` (chosen by `seed`) with new text of the same size. */
export async function changeFiles(dir: string, candidates: readonly string[], count: number, seed: number): Promise<string[]> {
  const r = new Prng(1000 + seed);
  const chosen = new Set<string>();
  while (chosen.size < Math.min(count, candidates.length)) chosen.add(candidates[r.below(candidates.length)]!);
  for (const rel of chosen) {
    const file = path.join(dir, rel);
    const size = (await nfs.stat(file)).size;
    await nfs.writeFile(file, text(r, Math.max(size, 16)));
  }
  return [...chosen];
}

/** `mib` files of 1 MiB of random bytes, 100 per directory; returns their relative paths. */
export async function generateBigTree(dir: string, mib: number): Promise<string[]> {
  const r = new Prng(99);
  const paths: string[] = [];
  for (let i = 0; i < mib; i++) {
    const rel = path.join(`b${String(Math.floor(i / 100)).padStart(2, '0')}`, `f${String(i % 100).padStart(2, '0')}.bin`);
    if (i % 100 === 0) await nfs.mkdir(path.join(dir, path.dirname(rel)), { recursive: true });
    await nfs.writeFile(path.join(dir, rel), r.bytes(1024 * 1024));
    paths.push(rel);
  }
  return paths;
}
