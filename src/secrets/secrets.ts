// Secrets are files (ARCHITECTURE.md, "Flags"): `.kiln/secrets/<env>/<name>`, written atomically,
// mode 0600 for Kiln's user, or 0400 owned by the environment's server uid when Kiln runs as root
// (docs/isolation.md): a server of another environment gets EACCES. A flag carries the file's
// path, never the value, so no secret is in `ps`, a release manifest, a log line or state.db.
// Servers get a version file of the value instead of the file itself, so a rotation rolls out as
// a new group (versions.ts).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { assertPart } from '../names/names.js';
import { ensureDir, writeFileAtomic } from '../store/atomic.js';
import { recordedServerIdentity } from '../isolation/recorded.js';
import { currentVersion, pruneSecretVersions, secretNameOf } from './versions.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

function check(name: string): void {
  if (!NAME.test(name)) {
    // Not echoed: a wrong "name" is often the value pasted in the wrong place, and an error
    // message ends up in terminals, CI logs and bug reports.
    throw new KilnError('USAGE', `the secret name (${name.length} characters, not shown) must be letters, digits, _ and - (at most 128)`, {
      location: { flag: '<name>' },
      hint: 'the value is never an argument: kiln secret set <name> --env <env> < file-with-the-value',
    });
  }
}

export function secretsDir(kilnDir: string, env: string): string {
  // The environment is a path part too: "..", "/" or NUL must never leave .kiln/secrets.
  assertPart('environment', env);
  return path.join(kilnDir, 'secrets', env);
}

/** The path of a set secret; a missing one is an error saying how to set it. */
export function secretFile(kilnDir: string, env: string, name: string): string {
  check(name);
  const file = path.join(secretsDir(kilnDir, env), name);
  if (!existsSync(file)) {
    throw new KilnError('SPEC_INVALID', `secret "${name}" is not set for environment ${env}`, {
      hint: `set it: kiln secret set ${name} --env ${env} < file-with-the-value`,
    });
  }
  return file;
}

/**
 * The path a server's flag names: the version file of the secret's current value (`<name>@<digest>`),
 * which never changes, so the servers of one group all read the value their group was planned with.
 */
export function secretVersionFile(kilnDir: string, env: string, name: string): string {
  const file = secretFile(kilnDir, env, name);
  return currentVersion(path.dirname(file), name, recordedServerIdentity(kilnDir, env) ?? undefined);
}

export function setSecret(kilnDir: string, env: string, name: string, value: Buffer): string {
  check(name);
  if (value.length === 0) throw new KilnError('USAGE', `no value for secret "${name}" on standard input`, { hint: 'pipe the value in: kiln secret set <name> --env <env> < file' });
  const dir = secretsDir(kilnDir, env);
  ensureDir(dir, 0o700);
  const file = path.join(dir, name);
  // Owned by the environment's servers from the moment it has its name: a running server that
  // reads it again must not get EACCES (without a uid yet, the next server start owns it).
  const owner = recordedServerIdentity(kilnDir, env);
  writeFileAtomic(file, value, owner ? 0o400 : 0o600, owner ?? undefined);
  currentVersion(dir, name, owner ?? undefined);
  return file;
}

/**
 * Removes a secret: its file goes now; version files that a live or kept group still names stay
 * until the deploy after which none does (deploy/secret-versions.ts), so running servers and a
 * rollback keep reading theirs. `inUse` says which version files are named.
 */
export function removeSecret(kilnDir: string, env: string, name: string, inUse: (file: string) => boolean): { removed: string[]; kept: number } {
  check(name);
  const dir = secretsDir(kilnDir, env);
  const file = path.join(dir, name);
  if (!existsSync(file)) {
    const set = listSecrets(kilnDir, env);
    throw new KilnError('SECRET_NOT_FOUND', `secret "${name}" is not set for environment ${env}`, {
      hint: set.length ? `set for ${env}: ${set.join(', ')}` : `no secret is set for ${env}`,
    });
  }
  rmSync(file, { force: true });
  const ofThis = (f: string): boolean => secretNameOf(f) === name;
  const removed = pruneSecretVersions(dir, (f) => !ofThis(f) || inUse(f));
  const kept = readdirSync(dir).filter((f) => ofThis(path.join(dir, f)) && f !== name).length;
  return { removed: [name, ...removed], kept };
}

export function listSecrets(kilnDir: string, env: string): string[] {
  const dir = secretsDir(kilnDir, env);
  return existsSync(dir) ? readdirSync(dir).filter((n) => NAME.test(n)).sort() : [];
}
