// Renders a server's flags and positional arguments (ARCHITECTURE.md, "Flags"), once, at plan
// time, to the typed form every runtime reads (runtime/args.ts): service flags, overridden by the
// role's, overridden by the environment's; `args` from the environment, else the role, else the
// service. `${...}` references are parsed by the one parser of their grammar (spec/flagref.ts):
// names of the environment become text, the files a server is given become secret or store
// references, and the per-server values (${port}, ${log.file}) stay references until a server is
// started, so a replacement server gets exactly its siblings' configuration.
import { KilnError } from '../errors.js';
import type { ArgPart, ArgValue, ServerArgs, ServerFlag } from '../runtime/args.js';
import { parseFlagTemplate } from '../spec/flagref.js';
import type { EnvironmentSpec, FlagMap, FlagStyle } from '../spec/types.js';
import type { ReleaseManifest } from '../release/types.js';
import type { StoreLocation } from '../streams/data/bindings.js';

export interface FlagContext {
  env: string;
  release: string;
  /** Load-balancer URL of each cluster of the environment, by "<service>-<role>". */
  clusterUrls: Record<string, string>;
  /** Where a data store lives in this environment. */
  locateStore: (store: string) => StoreLocation;
  /** The host path of a secret's file in this environment; throws if the secret is not set. */
  secretFile: (name: string) => string;
}

export interface FlagLayers {
  /** Service, role, environment: later layers override earlier ones flag by flag. */
  flags: FlagMap[];
  /** Service, role, environment: the last one given is the whole list (lists do not merge). */
  positional: Array<readonly string[] | undefined>;
  style: FlagStyle;
  /** The role has a port: `--port` is added unless a layer sets `port` (false leaves it out). */
  hasPort: boolean;
}

/** The layers of one role of a release in an environment: what every runtime's plan renders. */
export function layersOf(release: ReleaseManifest, service: string, role: string, envSpec: Pick<EnvironmentSpec, 'flags' | 'args'>): FlagLayers {
  const svc = release.services[service]!;
  const r = svc.roles[role]!;
  return {
    flags: [svc.flags, r.flags, envSpec.flags[service] ?? {}],
    positional: [svc.args, r.args, envSpec.args[service]],
    style: svc.flagsStyle ?? 'equals',
    hasPort: r.port !== undefined,
  };
}

function render(value: string, ctx: FlagContext, where: string): ArgValue {
  const parsed = parseFlagTemplate(value);
  if (!parsed.ok) throw new KilnError('SPEC_INVALID', `${where}: ${parsed.error}`, { hint: 'kiln.yaml is checked when it loads: run `kiln release create` to see where' });
  const out: ArgValue = [];
  const text = (t: string): void => {
    const last = out.at(-1);
    if (last?.kind === 'text') last.text += t;
    else out.push({ kind: 'text', text: t });
  };
  for (const part of parsed.parts) {
    if ('text' in part) {
      text(part.text);
      continue;
    }
    const ref = part.ref;
    switch (ref.kind) {
      case 'port':
      case 'log.file':
        out.push({ kind: ref.kind === 'port' ? 'port' : 'log-file' });
        break;
      case 'env':
        text(ctx.env);
        break;
      case 'release':
        text(ctx.release);
        break;
      case 'cluster': {
        const url = ctx.clusterUrls[ref.target];
        if (!url) {
          throw new KilnError('SPEC_INVALID', `${where} refers to cluster "${ref.target}", which is not in this release`, {
            hint: `known: ${Object.keys(ctx.clusterUrls).join(', ') || 'none'}`,
          });
        }
        text(url);
        break;
      }
      case 'data':
        out.push(storePart(ctx.locateStore(ref.store)));
        break;
      // A secret reaches the app as the path of its file, never its value (ARCHITECTURE.md, "Flags").
      case 'secret':
        out.push({ kind: 'secret', name: ref.name, host: ctx.secretFile(ref.name) });
        break;
    }
  }
  return out;
}

/** A store's URL as a server gets it: a SQLite file, or the secret file holding a PostgreSQL URL. */
function storePart(loc: StoreLocation): ArgPart {
  return loc.engine === 'sqlite' ? { kind: 'store', name: loc.store, host: loc.file } : { kind: 'secret', name: loc.secret, host: loc.secretFile };
}

/**
 * The group's arguments: flags merged and sorted by name (stable, so two groups of one release
 * match), `--port` and `--log-file` added unless set; `true` is a bare flag, `false` none.
 */
export function renderServerArgs(layers: FlagLayers, ctx: FlagContext, service: string): ServerArgs {
  const merged: FlagMap = Object.assign({}, ...layers.flags);
  if (layers.hasPort && !('port' in merged)) merged['port'] = '${port}';
  if (!('log-file' in merged)) merged['log-file'] = '${log.file}';
  const flags: ServerFlag[] = [];
  for (const name of Object.keys(merged).sort()) {
    const v = merged[name];
    if (v === false || v === undefined) continue;
    flags.push({ name, value: v === true ? true : render(String(v), ctx, `flag ${service} --${name}`) });
  }
  const list = [...layers.positional].reverse().find((p) => p !== undefined) ?? [];
  const positional = list.map((a, i) => render(a, ctx, `${service} argument ${i + 1}`));
  return { style: layers.style, flags, positional };
}

/**
 * Groups made before flags were typed stored `[name, value]` pairs with only ${port} and
 * ${log.file} left in: read as text (their host paths stay text: such a group's replacement
 * servers get what its first servers got on the process runtime).
 */
export function legacyServerArgs(flags: Array<[string, string]>): ServerArgs {
  const value = (v: string): ArgValue =>
    v
      .split(/(\$\{port\}|\$\{log\.file\})/)
      .filter((s) => s !== '')
      .map((s): ArgPart => (s === '${port}' ? { kind: 'port' } : s === '${log.file}' ? { kind: 'log-file' } : { kind: 'text', text: s }));
  return { style: 'equals', flags: flags.map(([name, v]) => ({ name, value: value(v) })), positional: [] };
}

/** A group's arguments, whenever it was made. */
export function templateArgs(t: { args?: ServerArgs; flags?: Array<[string, string]> }): ServerArgs {
  return t.args ?? legacyServerArgs(t.flags ?? []);
}
