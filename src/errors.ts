// Errors a user can hit. Each has a stable code (for --json and scripts), a message that says
// what is wrong and what to do, and where it happened (file:line:column, a flag, a tag).
// Internal bugs stay plain exceptions so they keep their stack traces.

export type KilnErrorCode =
  | 'SPEC_INVALID'
  | 'SPEC_NOT_FOUND'
  | 'NAME_INVALID'
  | 'TAG_CONFLICT'
  | 'TAG_NOT_FOUND'
  | 'RELEASE_NOT_FOUND'
  | 'RELEASE_UNCHANGED'
  | 'NOT_INITIALISED'
  | 'BUILD_FAILED'
  | 'USAGE'
  | 'UNAUTHORIZED'
  | 'SERVER_UNREACHABLE'
  | 'DEPLOY_FAILED'
  | 'DEPLOY_IN_PROGRESS'
  | 'ENV_NOT_FOUND'
  | 'ENV_EXISTS'
  | 'PROMOTE_REFUSED'
  | 'CLUSTER_NOT_FOUND'
  | 'SERVER_NOT_FOUND'
  | 'NOTHING_TO_ROLL_BACK'
  | 'CORRUPT_STORE'
  | 'SERVER_RUNNING'
  | 'RUNTIME_UNSUPPORTED'
  | 'RUNTIME_FAILED'
  | 'RUNTIME_UNAVAILABLE'
  | 'PORT_IN_USE'
  | 'INPUT_INVALID' | 'MIRROR_UNREACHABLE'
  | 'DATA_CHANGELOG' | 'DATA_LOCKED' | 'DATA_FAILED' | 'DATA_BREAKING'
  | 'DISK_FULL' | 'STORE_READ_ONLY' | 'STORE_LOCKED'
  | 'ISOLATION_UNAVAILABLE';

export interface KilnErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  flag?: string;
  tag?: string;
}

export class KilnError extends Error {
  readonly code: KilnErrorCode;
  readonly location: KilnErrorLocation | undefined;
  readonly hint: string | undefined;
  /** More lines shown under the message (e.g. the last lines of a failed server's log). */
  readonly details: string[];

  constructor(
    code: KilnErrorCode,
    message: string,
    opts: { location?: KilnErrorLocation; hint?: string; details?: string[] } = {},
  ) {
    super(message);
    this.name = 'KilnError';
    this.code = code;
    this.location = opts.location;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
  }

  /** "file:line:column" when known, else the flag or tag, else ''. */
  where(): string {
    const l = this.location;
    if (!l) return '';
    if (l.file) return [l.file, l.line, l.column].filter((x) => x !== undefined).join(':');
    if (l.flag) return l.flag;
    if (l.tag) return l.tag;
    return '';
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      ...(this.location ? { location: this.location } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details.length ? { details: this.details } : {}),
    };
  }
}

/** Several problems found in one pass (e.g. every error in a kiln.yaml), reported together. */
export class KilnErrors extends KilnError {
  readonly errors: KilnError[];
  constructor(errors: KilnError[]) {
    const first = errors[0];
    if (!first) throw new Error('KilnErrors needs at least one error');
    super(first.code, errors.map((e) => formatError(e)).join('\n'), {});
    this.errors = errors;
  }
  override toJSON(): Record<string, unknown> {
    return { error: this.code, errors: this.errors.map((e) => e.toJSON()) };
  }
}

export function formatError(e: KilnError): string {
  const where = e.where();
  const lines = [`${where ? where + ': ' : ''}${e.message}`];
  if (e.hint) lines.push(`  hint: ${e.hint}`);
  for (const d of e.details) lines.push(`  ${d}`);
  return lines.join('\n');
}
