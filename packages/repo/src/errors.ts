export type RepoErrorCode = 'ERR_CONFLICT' | 'ERR_UNKNOWN_REF' | 'EINVAL' | 'EEXIST' | 'ERR_NOT_A_COMMIT' | 'EROFS' | 'EBUSY' | 'ERR_COLLECTED';

/** Errors of the repository layer; `code` in Node's style. */
export class RepoError extends Error {
  readonly code: RepoErrorCode;
  constructor(code: RepoErrorCode, message: string) {
    super(message);
    this.name = 'RepoError';
    this.code = code;
  }
}

/** A compare-and-swap lost: the name no longer held what the writer expected. */
export class ConflictError extends RepoError {
  readonly ref: string;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  constructor(ref: string, expected: string | undefined, actual: string | undefined) {
    super('ERR_CONFLICT', `${ref} moved: expected ${expected ?? '(absent)'}, found ${actual ?? '(absent)'}`);
    this.ref = ref;
    this.expected = expected;
    this.actual = actual;
  }
}
