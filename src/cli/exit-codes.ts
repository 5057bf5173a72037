// What kiln's exit code means, the same for every command (docs/cli.md, "Exit codes"):
//   0  done (or: nothing differs)
//   1  the operation failed, or something it names does not exist (an environment, a service,
//      a release, a store: *_NOT_FOUND) — the command line itself was fine
//   2  the command line is wrong: an unknown command or option, a missing argument or --env
//   3  differences found: `release diff --exit-code`, `deploy --dry-run --exit-code` (like
//      `git diff --exit-code`, but not 1, so a script tells "differs" from "failed")
import type { KilnError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_DIFFERENCES = 3;

export function exitCodeOf(e: KilnError): number {
  return e.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILED;
}
