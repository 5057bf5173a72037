// The proxy's own event log (table applied, listener opened or failed, corrupt routes file).
// Events are rare, so each line is appended synchronously: nothing is lost if the process is
// killed right after. Per-request events are never logged here; they would cost throughput.
import { appendFileSync } from 'node:fs';

export type LogFn = (message: string) => void;

/** Appends timestamped lines to `file`, or to stderr when no file is given. */
export function createLogger(file: string | undefined): LogFn {
  return (message: string) => {
    const line = `${new Date().toISOString()} proxy: ${message}\n`;
    try {
      if (file !== undefined) appendFileSync(file, line);
      else process.stderr.write(line);
    } catch {
      // A full disk or removed log directory must not take routing down with it.
    }
  };
}
