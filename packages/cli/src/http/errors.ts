// What a failed request answers: a status and a one-line text body.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The status and message a thrown error answers with (library errors by their `code`). */
export function statusOf(err: unknown): { status: number; message: string; headers: Record<string, string> } {
  if (err instanceof HttpError) return { status: err.status, message: err.message, headers: err.headers };
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ERR_UNKNOWN_REF' || code === 'ELOOP') {
    return { status: 404, message: code === 'ERR_UNKNOWN_REF' ? (err as Error).message : 'not found', headers: {} };
  }
  // Short and fixed: the message would repeat the whole (long) path.
  if (code === 'ENAMETOOLONG') return { status: 414, message: 'the path or one of its names is too long', headers: {} };
  if (code === 'ERR_COLLECTED') return { status: 410, message: (err as Error).message, headers: {} };
  if (code === 'EINVAL' || code === 'ERR_NOT_A_COMMIT') {
    return { status: 400, message: (err as Error).message.split('\n')[0]!, headers: {} };
  }
  return { status: 500, message: 'internal error', headers: {} };
}
