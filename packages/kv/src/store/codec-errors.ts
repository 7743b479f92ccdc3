import { IntegrityError, KvError } from '../errors.js';

/** A stored blob that cannot be decoded: an unknown header, a bad zstd frame, a tag that does not verify. */
export class UndecodableBlobError extends IntegrityError {
  constructor(hashHex: string, reason: string) {
    super(hashHex, '(undecodable)');
    this.message = `blob ${hashHex} is corrupt: ${reason}`;
  }
}

/** The repository's blobs are encrypted and no secret was given (key file or CAFS_KEY). */
export class KeyRequiredError extends KvError {
  constructor(message = 'this store is encrypted: a secret is needed to open it (a key file, or CAFS_KEY)') {
    super('ERR_KEY_REQUIRED', message);
  }
}

/** The secret given is not the one the store was created with. The secret itself is never shown. */
export class BadKeyError extends KvError {
  constructor(message = 'wrong secret: this store was encrypted with another one') {
    super('ERR_BAD_KEY', message);
  }
}

/** Codecs asked for that the store was not created with (they are fixed at creation). */
export class CodecMismatchError extends KvError {
  constructor(message: string) {
    super('ERR_CODEC_MISMATCH', message);
  }
}
