// Throughput of the content-defined chunker against raw SHA-256 (node:crypto).
// Run after `pnpm build`:  node packages/fs/scripts/cdc-speed.mjs [MiB=256] [rounds=5]
// Prints best and median MB/s (1 MB = 10^6 bytes) per measurement; rounds are interleaved so
// background load hits every measurement alike. The fs target: chunk + hash >= 0.5 x raw SHA-256.
import { createHash, createCipheriv } from 'node:crypto';
import { CdcChunker, cdcCuts, CDC_WASM_AVAILABLE } from '../dist/data/cdc.js';

const MIB = 1 << 20;
const size = Number(process.argv[2] ?? 256) * MIB;
const rounds = Number(process.argv[3] ?? 5);

// Deterministic pseudo-random bytes (AES-128-CTR keystream), fast to make.
function pseudoRandom(n) {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const out = new Uint8Array(n);
  const zeros = new Uint8Array(MIB);
  for (let p = 0; p < n; p += MIB) out.set(cipher.update(zeros.subarray(0, Math.min(MIB, n - p))), p);
  return out;
}

const data = pseudoRandom(size);

function rawSha() {
  for (let p = 0; p < data.length; p += MIB) createHash('sha256').update(data.subarray(p, p + MIB)).digest();
}
const cutsOnly = (engine) => () => cdcCuts(data, { engine });
const cutsAndHash = (engine) => () => {
  let start = 0;
  for (const cut of cdcCuts(data, { engine })) {
    createHash('sha256').update(data.subarray(start, cut)).digest();
    start = cut;
  }
};
// The shape of a file writer: 1 MiB pieces arrive, each chunk is hashed incrementally.
const streamed = (engine) => () => {
  const chunker = new CdcChunker({ engine });
  let hasher = createHash('sha256');
  for (let p = 0; p < data.length; p += MIB) {
    const piece = data.subarray(p, p + MIB);
    let from = 0;
    for (const cut of chunker.push(piece)) {
      hasher.update(piece.subarray(from, cut - p)).digest();
      hasher = createHash('sha256');
      from = cut - p;
    }
    if (from < piece.length) hasher.update(piece.subarray(from));
  }
  if (chunker.finish() !== undefined) hasher.digest();
};

const cases = [['raw sha256 (1 MiB pieces)', rawSha]];
for (const engine of CDC_WASM_AVAILABLE ? ['wasm', 'js'] : ['js']) {
  cases.push([`cdcCuts [${engine}]`, cutsOnly(engine)]);
  cases.push([`cdcCuts + sha256 per chunk [${engine}]`, cutsAndHash(engine)]);
  cases.push([`push 1 MiB + sha256 streamed [${engine}]`, streamed(engine)]);
}

const results = new Map(cases.map(([name]) => [name, []]));
for (const [, fn] of cases) fn(); // warm-up (JIT, wasm tier-up)
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of cases) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    results.get(name).push(data.length / ms / 1e3);
  }
}

const best = (xs) => Math.max(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nChunks = cdcCuts(data).length;
console.log(`${size / MIB} MiB pseudo-random, ${nChunks} chunks (mean ${(size / nChunks / 1024).toFixed(1)} KiB), ${rounds} rounds, node ${process.version}`);
const raw = results.get(cases[0][0]);
for (const [name] of cases) {
  const xs = results.get(name);
  const ratio = name === cases[0][0] || !name.includes('sha256') ? '' : `  ratio vs raw sha: best ${(best(xs) / best(raw)).toFixed(2)}, median ${(median(xs) / median(raw)).toFixed(2)}`;
  console.log(`${name.padEnd(40)} best ${best(xs).toFixed(0).padStart(5)} MB/s  median ${median(xs).toFixed(0).padStart(5)} MB/s${ratio}`);
}
