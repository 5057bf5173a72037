// Renders a server's flags (ARCHITECTURE.md, "Flags"): service flags, overridden by the role's,
// overridden by the environment's, with ${...} references expanded. Two references are per server
// (${port}, ${log.file}) and stay in the group's template until a server is started, so a
// replacement server gets exactly its siblings' configuration.
import { KilnError } from '../errors.js';
import type { FlagMap } from '../spec/types.js';

export interface FlagContext {
  env: string;
  release: string;
  /** Load-balancer URL of each cluster of the environment, by "<service>-<role>". */
  clusterUrls: Record<string, string>;
  /** Where a data store lives in this environment (a SQLite file, or the secret file holding a URL). */
  dataUrl: (store: string) => string;
  /** The path of a secret's 0600 file in this environment; throws if the secret is not set. */
  secretPath: (name: string) => string;
}

const REF = /\$\$|\$\{([^}]*)\}/g;

function expand(value: string, ctx: FlagContext, where: string): string {
  return value.replace(REF, (whole, ref: string | undefined) => {
    if (whole === '$$') return '$';
    const r = (ref ?? '').trim();
    if (r === 'port' || r === 'log.file') return `\${${r}}`; // per server, filled at start
    if (r === 'env') return ctx.env;
    if (r === 'release') return ctx.release;
    const cluster = /^cluster\.([a-z0-9-]+)\.url$/.exec(r);
    if (cluster?.[1]) {
      const url = ctx.clusterUrls[cluster[1]];
      if (!url) {
        throw new KilnError('SPEC_INVALID', `flag ${where} refers to cluster "${cluster[1]}", which is not in this release`, {
          hint: `known: ${Object.keys(ctx.clusterUrls).join(', ') || 'none'}`,
        });
      }
      return url;
    }
    const data = /^data\.([a-z0-9-]+)\.url$/.exec(r);
    if (data?.[1]) return ctx.dataUrl(data[1]);
    // A secret reaches the app as the path of its file, never its value (ARCHITECTURE.md, "Flags").
    const secret = /^secret\.([A-Za-z0-9_][A-Za-z0-9_-]*)$/.exec(r);
    if (secret?.[1]) return ctx.secretPath(secret[1]);
    throw new KilnError('SPEC_INVALID', `flag ${where}: unknown reference \${${r}}`, {
      hint: 'known: ${port}, ${log.file}, ${env}, ${release}, ${cluster.<service>-<role>.url}, ${data.<store>.url}, ${secret.<name>}',
    });
  });
}

/**
 * The group's flag template: merged, expanded, with --port and --log-file added unless the spec
 * sets those flags itself. Order is stable (sorted by name) so two groups of one release match.
 */
export function renderFlagTemplate(
  layers: FlagMap[],
  hasPort: boolean,
  ctx: FlagContext,
  service: string,
): Array<[string, string]> {
  const merged: FlagMap = Object.assign({}, ...layers);
  if (hasPort && !('port' in merged)) merged['port'] = '${port}';
  if (!('log-file' in merged)) merged['log-file'] = '${log.file}';
  return Object.keys(merged)
    .sort()
    .map((name) => [name, expand(String(merged[name]), ctx, `${service} --${name}`)] as [string, string]);
}

/** The final argv flags of one server. */
export function serverFlags(template: Array<[string, string]>, server: { port?: number; logFile: string }): string[] {
  return template.map(([name, value]) => {
    const v = value.replace(/\$\{port\}/g, server.port !== undefined ? String(server.port) : '').replace(/\$\{log\.file\}/g, server.logFile);
    return `--${name}=${v}`;
  });
}
