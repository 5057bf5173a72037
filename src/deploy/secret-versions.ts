// After a deploy: the version files of secrets (secrets/versions.ts) that no group of the
// environment still names are removed, so a rotated-away value does not stay on disk once the
// last server that could read it is gone. Kept groups count: a rollback restarts their flags.
import { secretsDir } from '../secrets/secrets.js';
import { pruneSecretVersions } from '../secrets/versions.js';
import { LIVE_GROUP_STATES, type RuntimeState } from '../store/runtime-state.js';
import { filesOf } from '../runtime/args.js';
import { templateArgs } from './flags.js';

export function pruneUnusedSecretVersions(state: RuntimeState, kilnDir: string, env: string): string[] {
  return pruneSecretVersions(secretsDir(kilnDir, env), namedByGroups(state, env));
}

/** Whether a live or kept group of the environment names the file in a flag. */
export function namedByGroups(state: RuntimeState, env: string): (file: string) => boolean {
  const values = state
    .clusters(env)
    .flatMap((c) => state.groups({ cluster: c.name, states: LIVE_GROUP_STATES }))
    .flatMap((g) => [
      ...filesOf(templateArgs(g.template)).map((f) => f.host),
      // Groups made before arguments were typed name their files as text.
      ...(g.template.flags ?? []).map(([, v]) => v),
    ]);
  // A flag may embed the path in a longer value (`file:${secret.x}`): any mention keeps it.
  return (file) => values.some((v) => v.includes(file));
}
