/**
 * An error caused by what the user gave us (a file, a flag, a manifest line). The CLI prints its
 * message as one line and exits with code 2; anything else is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** A check the user asked for did not pass (exit code 1), e.g. `falip sweep --fail-below`. */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

/**
 * The first line of a library's error message. libvips appends every warning its decoder raised
 * ("VipsJpeg: premature end of JPEG image", repeated per pass), so its messages run over several lines;
 * the first says what went wrong, and a UserError is one line.
 */
export function firstLineOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}
