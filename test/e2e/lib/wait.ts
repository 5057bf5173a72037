// Polling helpers for end-to-end tests: wait for an observable condition instead of sleeping
// a guessed amount of time.

export interface WaitOptions {
  /** Give up after this many milliseconds (default 15000). */
  timeoutMs?: number;
  /** Milliseconds between polls (default 50). */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("the api group to be healthy"). */
  what?: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Falsy = false | 0 | '' | null | undefined;

/**
 * Polls `predicate` until it returns a truthy value, and resolves with that value. A predicate
 * that throws counts as "not yet"; its last error is in the timeout message, which says what
 * was awaited and for how long.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, Falsy>> {
  const timeoutMs = opts.timeoutMs ?? 15000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, Falsy>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}${why}`);
    }
    await sleep(intervalMs);
  }
}
