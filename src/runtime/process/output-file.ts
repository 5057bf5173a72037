// A server's stdout/stderr file, opened by the control plane (root) in the server's own log
// directory: the server may have put a symlink there (to /etc/shadow, to .kiln/run/token) or a
// FIFO under the next server's name. Never follow a link (O_NOFOLLOW), never block (O_NONBLOCK:
// a FIFO without a reader fails at once), and accept only a regular file.
import fs from 'node:fs';
import { KilnError } from '../../errors.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

export function openOutputFile(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO') throw notAFile(file, code === 'ELOOP' ? 'a symbolic link' : 'a FIFO or socket');
    throw e;
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw notAFile(file, 'not a regular file');
  }
  // The server inherits this descriptor; O_NONBLOCK changes nothing for a regular file.
  return fd;
}

function notAFile(file: string, what: string): KilnError {
  return new KilnError('RUNTIME_FAILED', `${file} is ${what}; a server's output goes only to a regular file`, {
    hint: 'something in the server log directory replaced it; remove it and the next server starts normally',
  });
}
