/** Base class of every error this package throws; `code` follows Node's conventions. */
export class KvError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument: malformed hash text, unsorted builder input, a non-bytes key. */
export class InvalidArgumentError extends KvError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

/** A key, value or blob larger than the documented limit. */
export class TooLargeError extends KvError {
  readonly size: number;
  readonly limit: number;
  constructor(what: string, size: number, limit: number) {
    super('E2BIG', `${what} is ${size} bytes; the limit is ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** The store holds no blob under this hash. */
export class BlobNotFoundError extends KvError {
  readonly hash: string;
  constructor(hashHex: string) {
    super('ERR_BLOB_NOT_FOUND', `blob ${hashHex} is not in the store`);
    this.hash = hashHex;
  }
}

/** The bytes stored under a hash do not hash to it. */
export class IntegrityError extends KvError {
  readonly hash: string;
  readonly actual: string;
  constructor(hashHex: string, actualHex: string) {
    super('ERR_INTEGRITY', `blob ${hashHex} is corrupt: its bytes hash to ${actualHex}`);
    this.hash = hashHex;
    this.actual = actualHex;
  }
}

/** A blob that should be a tree node is not a well-formed one, or does not fit where it hangs. */
export class CorruptNodeError extends KvError {
  readonly hash: string;
  constructor(hashHex: string, reason: string) {
    super('ERR_CORRUPT_NODE', `tree node ${hashHex} is corrupt: ${reason}`);
    this.hash = hashHex;
  }
}
