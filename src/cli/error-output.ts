// How the CLI reports a KilnError. Always the human message on stderr (a script that captures
// stdout still shows a person what went wrong); with --json, also one JSON object on stdout,
// {"error": {code, message, location?, hint?, ...}}, so a caller parsing stdout sees the failure.
// (The control-plane API's wire form is KilnError.toJSON(), a different, flat shape.)
import { KilnErrors, formatError, type KilnError, type KilnErrorLocation } from '../errors.js';

export interface CliErrorBody {
  code: string;
  message: string;
  location?: KilnErrorLocation;
  hint?: string;
  details?: string[];
  /** Every problem, when one pass found several (e.g. each error in a kiln.yaml). */
  errors?: CliErrorBody[];
}

export function cliErrorBody(e: KilnError): CliErrorBody {
  return {
    code: e.code,
    message: e instanceof KilnErrors ? (e.errors[0]?.message ?? e.message) : e.message,
    ...(e.location ? { location: e.location } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.details.length ? { details: e.details } : {}),
    ...(e instanceof KilnErrors ? { errors: e.errors.map(cliErrorBody) } : {}),
  };
}

export function printCliError(e: KilnError, json: boolean, out: { stdout: (t: string) => void; stderr: (t: string) => void }): void {
  if (json) out.stdout(JSON.stringify({ error: cliErrorBody(e) }) + '\n');
  out.stderr(`kiln: ${formatError(e)}\n`);
}
