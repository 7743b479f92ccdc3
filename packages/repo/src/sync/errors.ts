export type SyncErrorCode = 'ERR_UNKNOWN_REF' | 'ERR_INCOMPLETE' | 'ERR_INTEGRITY' | 'ERR_PROTOCOL' | 'ERR_REMOTE' | 'ERR_UNAUTHORIZED' | 'ERR_FORBIDDEN' | 'ERR_CONFLICT' | 'ERR_NON_FAST_FORWARD' | 'EINVAL';

/** A transfer that could not be done; `code` in Node's style, `status` for HTTP answers. */
export class SyncError extends Error {
  constructor(
    readonly code: SyncErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}
