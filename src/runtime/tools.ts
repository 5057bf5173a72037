// The programs a runtime runs on this machine (podman and skopeo for the podman runtime), looked
// up on PATH the way execFile finds them. A missing one matters only to an environment that uses
// the runtime, when it is used: the control plane starts whatever is installed (issue 13), and a
// deploy to such an environment is refused before anything changes, naming the environment.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import type { PodmanSettings } from './podman/commands.js';

/** Whether `program` (a name looked up on PATH, or a path) is an executable file. */
export function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const candidates = program.includes('/') ? [program] : (env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, program));
  return candidates.some((f) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

/** The programs a runtime kind needs, as configured (podman's may be renamed in its settings). */
export function runtimeTools(kind: string, settings: PodmanSettings = {}): string[] {
  if (kind === 'podman') return [settings.podman ?? 'podman', settings.skopeo ?? 'skopeo'];
  return [];
}

/** Those of a runtime's programs this machine lacks. */
export function missingRuntimeTools(kind: string, settings: PodmanSettings = {}, env: NodeJS.ProcessEnv = process.env): string[] {
  return runtimeTools(kind, settings).filter((t) => !onPath(t, env));
}

/** The error for an environment whose runtime lacks `missing` here: what, for whom, and what to do. */
export function missingToolsError(envName: string, kind: string, missing: string[]): KilnError {
  const what = missing.length === 1 ? `${missing[0]} is` : `${missing.join(' and ')} are`;
  return new KilnError('RUNTIME_UNAVAILABLE', `environment ${envName} runs on ${kind}, but ${what} not installed on this machine`, {
    hint: `install ${kind === 'podman' ? 'them: apt-get install -y podman runc skopeo uidmap' : missing.join(' ')} (then deploy again), or deploy to an environment with runtime: process`,
  });
}

/** Throws missingToolsError when the environment's runtime lacks a program here. */
export function requireRuntimeTools(envName: string, kind: string, settings: PodmanSettings = {}): void {
  const missing = missingRuntimeTools(kind, settings);
  if (missing.length) throw missingToolsError(envName, kind, missing);
}
