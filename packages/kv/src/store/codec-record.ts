// The codec record: which codecs a store was created with, kept beside its blobs (the raw
// store's meta record "codec", UTF-8 JSON). Later opens read it, so a repository always opens
// with the codecs it was made with. It holds no secret: only a 16-byte check value derived
// from it (codec.ts, deriveSealKeys), which tells a wrong secret apart at open.
import { KvError } from '../errors.js';
import type { RawBlobStore } from './raw-store.js';

export const CODEC_RECORD = 'codec';
const FORMAT = 'cafs-stored-blob-v1';

export interface CodecRecord {
  compress?: { codec: 'zstd'; level: number } | undefined;
  encrypt?: { scheme: 'cafs-seal-v1'; check: string } | undefined;
}

export async function readCodecRecord(raw: RawBlobStore): Promise<CodecRecord | undefined> {
  const bytes = await raw.getMeta(CODEC_RECORD);
  if (bytes === undefined) return undefined;
  let parsed: { format?: unknown; compress?: unknown; encrypt?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as typeof parsed;
  } catch {
    throw new KvError('ERR_CODEC_RECORD', 'the store\'s codec record is not valid JSON');
  }
  if (parsed.format !== FORMAT) throw new KvError('ERR_CODEC_RECORD', `the store's codec record is of an unknown format ${JSON.stringify(parsed.format)}`);
  const c = parsed.compress as { codec?: unknown; level?: unknown } | null | undefined;
  const e = parsed.encrypt as { scheme?: unknown; check?: unknown } | null | undefined;
  const record: CodecRecord = {};
  if (c != null) {
    if (c.codec !== 'zstd' || !Number.isInteger(c.level)) throw new KvError('ERR_CODEC_RECORD', `the store is compressed with an unknown codec ${JSON.stringify(c)}`);
    record.compress = { codec: 'zstd', level: c.level as number };
  }
  if (e != null) {
    if (e.scheme !== 'cafs-seal-v1' || typeof e.check !== 'string' || !/^[0-9a-f]{32}$/.test(e.check)) {
      throw new KvError('ERR_CODEC_RECORD', `the store is encrypted with an unknown scheme ${JSON.stringify(e.scheme)}`);
    }
    record.encrypt = { scheme: 'cafs-seal-v1', check: e.check };
  }
  return record;
}

export async function writeCodecRecord(raw: RawBlobStore, record: CodecRecord): Promise<void> {
  const text = JSON.stringify({ format: FORMAT, compress: record.compress ?? null, encrypt: record.encrypt ?? null });
  await raw.setMeta(CODEC_RECORD, new TextEncoder().encode(text));
}
