// How the CLI reports a KilnError. Always the human message on stderr (a script that captures
// stdout still shows a person what went wrong); with --json, also one JSON object on stdout,
// {"error": {code, message, location?, hint?, details?, errors?}}: the same shape the
// control-plane API answers with (KilnError.toJSON), so nothing is lost between them.
import { formatError, type KilnError, type KilnErrorBody } from '../errors.js';
import { paint } from './colour.js';

export type CliErrorBody = KilnErrorBody;

export function printCliError(
  e: KilnError,
  json: boolean,
  out: { stdout: (t: string) => void; stderr: (t: string) => void; colour?: boolean },
): void {
  if (json) out.stdout(JSON.stringify(e.toJSON()) + '\n');
  out.stderr(`${paint('red', 'kiln:', out.colour === true)} ${formatError(e)}\n`);
}
