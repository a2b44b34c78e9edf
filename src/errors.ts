/**
 * Errors a user can cause and fix: printed as one line plus an optional hint,
 * never with a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly hint?: string,
    /** 2 for command-line usage mistakes, 1 for everything else. */
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

/**
 * Errors from the native addon carry `message\nhint: ...`; Rust already phrased
 * them for people, so they become UserErrors as they are.
 */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof UserError) return err;
  if ((err as { code?: unknown }).code !== 'GenericFailure') return err;
  const [message, hint] = err.message.split('\nhint: ', 2);
  return new UserError(message ?? err.message, hint);
}

/** Awaits a native call, turning its failures into UserErrors. */
export async function native<T>(call: () => Promise<T> | T): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromNative(err);
  }
}
