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
  /** A dashboard session's state-changing call without its CSRF token or from another origin. */
  | 'FORBIDDEN'
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
  /** A listener without authentication asked for off loopback without the explicit opt-in. */
  | 'LISTENER_NOT_LOOPBACK'
  | 'INPUT_INVALID' | 'MIRROR_UNREACHABLE'
  | 'DATA_CHANGELOG' | 'DATA_LOCKED' | 'DATA_FAILED' | 'DATA_BREAKING'
  | 'DISK_FULL' | 'STORE_READ_ONLY' | 'STORE_LOCKED'
  | 'ISOLATION_UNAVAILABLE'
  | 'CANARY_NOT_FOUND'
  | 'SERVICE_NOT_FOUND' | 'STORE_NOT_FOUND' | 'SECRET_NOT_FOUND' | 'OS_BASE_NOT_FOUND'
  /** Sent by the control plane: an API call it does not have, or a bug (its log has the stack). */
  | 'NOT_FOUND' | 'INTERNAL';

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

  /** The wire form, the same for the control-plane API and the CLI's --json: {"error": {...}}. */
  toJSON(): { error: KilnErrorBody } {
    return { error: errorBody(this) };
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
}

/**
 * One error as JSON. Several problems (KilnErrors) keep the first one's message and location at
 * the top, so a reader of `code`/`message` alone still sees the first, and list all in `errors`.
 */
export interface KilnErrorBody {
  code: string;
  message: string;
  location?: KilnErrorLocation;
  hint?: string;
  details?: string[];
  errors?: KilnErrorBody[];
}

export function errorBody(e: KilnError): KilnErrorBody {
  const first = e instanceof KilnErrors ? e.errors[0] : undefined;
  const location = first ? first.location : e.location;
  return {
    code: e.code,
    message: first ? first.message : e.message,
    ...(location ? { location } : {}),
    ...(e.hint ? { hint: e.hint } : first?.hint ? { hint: first.hint } : {}),
    ...(e.details.length ? { details: e.details } : {}),
    ...(e instanceof KilnErrors ? { errors: e.errors.map(errorBody) } : {}),
  };
}

/**
 * The one decoder of an error that crossed a process boundary (the control plane's answer or
 * stream line): every field kept, several problems again a KilnErrors. Takes the envelope
 * {"error": {...}} or the body itself; anything else is not a Kiln error (null).
 */
export function errorFromJSON(value: unknown): KilnError | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  const b = (v.error && typeof v.error === 'object' ? v.error : v) as Record<string, unknown>;
  if (typeof b.code !== 'string' || typeof b.message !== 'string') return null;
  const nested = Array.isArray(b.errors) ? b.errors.map(errorFromJSON).filter((e): e is KilnError => e !== null) : [];
  if (nested.length) return new KilnErrors(nested);
  const loc = b.location && typeof b.location === 'object' ? (b.location as Record<string, unknown>) : undefined;
  const location: KilnErrorLocation = {};
  for (const k of ['file', 'flag', 'tag'] as const) if (typeof loc?.[k] === 'string') location[k] = loc[k] as string;
  for (const k of ['line', 'column'] as const) if (typeof loc?.[k] === 'number') location[k] = loc[k] as number;
  return new KilnError(b.code as KilnErrorCode, b.message, {
    ...(Object.keys(location).length ? { location } : {}),
    ...(typeof b.hint === 'string' ? { hint: b.hint } : {}),
    ...(Array.isArray(b.details) ? { details: b.details.map(String) } : {}),
  });
}

export function formatError(e: KilnError): string {
  const where = e.where();
  const lines = [`${where ? where + ': ' : ''}${e.message}`];
  if (e.hint) lines.push(`  hint: ${e.hint}`);
  for (const d of e.details) lines.push(`  ${d}`);
  return lines.join('\n');
}
