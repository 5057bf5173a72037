// docs/kiln-yaml.md: every key of kiln.yaml with its type, default and description, generated
// from the schema the loader validates with, so the reference cannot drift from the code.
import type { AnyNode, Field } from './dsl.js';
import { FLAG_REFERENCE_FORMS } from './flagref.js';
import { fieldDefault } from './jsonschema.js';
import { projectSchema } from './schema.js';

/** A complete kiln.yaml; shown in the docs and loaded by the tests, so it is known to be valid. */
export const EXAMPLE_SPEC = `project: shop
domain: shop.test
proxy: { host: 127.0.0.1, port: 7080 }
os:
  bookworm: { debian: { suite: bookworm, include: [nodejs, ca-certificates] } }
data:
  orders: { engine: sqlite, changelog: db/orders }
services:
  api:
    os: bookworm
    app: { path: apps/api, build: [npm, ci], output: dist, run: [node, server.js] }
    roles:
      http:
        replicas: 2
        port: http
        health: { path: /healthz, interval: 200ms, timeout: 1s, retries: 3, grace: 20s }
      worker: { replicas: 1, flags: { mode: worker } }
    flags: { db: "\${data.orders.url}", log-file: "\${log.file}" }
  web:
    app: { path: apps/web, run: [node, server.js] }
    roles:
      http: { port: http, health: /healthz }
    flags: { api-url: "\${cluster.api-http.url}", greeting: hello }
environments:
  dev: { runtime: process, scale: { api: { http: 3 } }, flags: { web: { greeting: hi } } }
  prod: { runtime: podman }
`;

interface Row {
  key: string;
  type: string;
  dflt: string;
  description: string;
}

function typeOf(node: AnyNode): string {
  switch (node.kind) {
    case 'string':
      return node.label === 'string' ? 'string' : node.label;
    case 'int':
      return `integer ${node.min}–${node.max}`;
    case 'number':
      return `number ${node.min}–${node.max}`;
    case 'percent':
      return `percentage ${node.min}%–${node.max}% (\`10%\`)`;
    case 'items':
      return `${node.minItems ? 'non-empty ' : ''}list of mappings`;
    case 'enum':
      return node.values.map((v) => `\`${v}\``).join(' or ');
    case 'duration':
      return 'duration (`200ms`, `2s`, `1m`)';
    case 'bool':
      return '`true` or `false`';
    case 'scalar':
      return 'string, number or boolean';
    case 'list':
      return `${node.minItems ? 'non-empty ' : ''}list of ${node.items.label === 'string' ? 'strings' : `${node.items.label}s`}`;
    case 'object':
      return 'mapping';
    case 'map':
      return `mapping by ${node.keyLabel} name`;
    case 'shorthand':
      return `${typeOf(node.object.fields[node.field]?.node ?? node.object)} or mapping`;
    case 'variant':
      return `mapping with one key: ${Object.keys(node.options).map((k) => `\`${k}\``).join(' or ')}`;
    case 'nullable':
      return `${typeOf(node.inner)} or null`;
    case 'external':
      return node.typeName;
  }
}

function showDefault(field: Field): string {
  if (field.presence === 'required') return '**required**';
  if (field.defaultDoc) return `\`${field.defaultDoc}\``;
  const d = fieldDefault(field);
  if (d === undefined) return '';
  if (typeof d === 'object' && d !== null && !Array.isArray(d) && Object.keys(d).length > 0) return 'see below';
  return `\`${typeof d === 'string' ? d : JSON.stringify(d)}\``;
}

/** Rows for the keys under `node`, whose own key is `key`. */
function rows(node: AnyNode, key: string): Row[] {
  switch (node.kind) {
    case 'object':
      return Object.entries(node.fields).flatMap(([k, f]) => {
        const path = key ? `${key}.${k}` : k;
        return [{ key: path, type: typeOf(f.node), dflt: showDefault(f), description: f.description }, ...rows(f.node, path)];
      });
    case 'map': {
      const path = `${key}.<${node.keyLabel}>`;
      const nested = rows(node.values, path);
      const own: Row = {
        key: path,
        type: typeOf(node.values),
        dflt: '',
        description: `${node.values.description ? node.values.description + ' ' : ''}The ${node.keyLabel} name matches \`${node.keyPattern}\`.`,
      };
      return [own, ...nested];
    }
    case 'shorthand':
      return rows(node.object, key);
    case 'items':
      return rows(node.item, `${key}[]`);
    case 'variant':
      return Object.entries(node.options).flatMap(([k, option]) => {
        const path = `${key}.${k}`;
        return [{ key: path, type: typeOf(option), dflt: '', description: option.description ?? '' }, ...rows(option, path)];
      });
    default:
      return [];
  }
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The Markdown reference of kiln.yaml (docs/kiln-yaml.md). */
export function generateReferenceMarkdown(): string {
  const out: string[] = [
    '# kiln.yaml reference',
    '',
    '<!-- Generated from src/spec/schema.ts by writeGeneratedSpecFiles (src/spec/generate.ts); do not edit. -->',
    '',
    'A project is one `kiln.yaml`. Kiln looks for it in the current directory and its parents.',
    'Unknown keys are errors; every problem is reported with its file:line:column.',
    'Editors can check it as you type with the JSON Schema that `kiln schema` prints (also',
    '`schema/kiln.schema.json` in the Kiln repository): save it as `kiln.schema.json` next to',
    '`kiln.yaml` and make the first line `# yaml-language-server: $schema=kiln.schema.json`.',
    '',
    '## Example',
    '',
    '```yaml',
    EXAMPLE_SPEC.trimEnd(),
    '```',
    '',
    '## How flags are rendered',
    '',
    'A server is started with no shell in between, as the argument list: the service\'s `app.run`,',
    'then its flags, then its positional `args`. Nothing is split or quoted: a value with spaces is',
    'one argument.',
    '',
    '- **Which flags**: the service\'s `flags`, then the role\'s, then the environment\'s',
    '  (`environments.<env>.flags.<service>`); a later one replaces an earlier one of the same name.',
    '  They are written sorted by name.',
    '- **Kiln\'s own**: a role with a `port` gets `port: "${port}"` and every server gets',
    '  `log-file: "${log.file}"`, unless a layer sets that name. Set one to `false` to leave it out,',
    '  and pass the value under the name the program takes (`p: "${port}"`).',
    '- **Values**: a string or number is the flag\'s value; `true` is the bare flag; `false` leaves',
    '  the flag out. For the words themselves, quote them: `color: "false"` gives `--color=false`.',
    '- **`flags-style`** (per service) decides how a flag is written. For `{ port: 8080, verbose: true }`:',
    '',
    '  | `flags-style` | arguments |',
    '  |---|---|',
    '  | `equals` (default) | `--port=8080` `--verbose` |',
    '  | `space` | `--port` `8080` `--verbose` |',
    '  | `single-dash` | `-port` `8080` `-verbose` (a one-letter name `p`: `-p` `8080`) |',
    '',
    '- **Positional arguments**: the service\'s `args`, replaced as a whole by the role\'s `args`,',
    '  replaced by the environment\'s (`environments.<env>.args.<service>`); they take the same',
    '  references as flag values and come after the flags. One that names a file of the app',
    '  (`public`) is that file on every runtime, as arguments of `run` are. With `space` or',
    '  `single-dash`, a bare flag written just before them may be read as taking the first one as',
    '  its value; make the first argument `"--"` for programs that read it as the end of flags.',
    '- **Files**: `${secret.<name>}` and `${data.<store>.url}` become the path of a file as the server',
    '  sees it, never a value: on the `process` runtime the file under `.kiln/`; on `podman` its path',
    '  inside the container, where only that file (a SQLite store: its directory) is bind-mounted:',
    '  `/run/kiln/secrets/<name>`, `/run/kiln/data/<store>/<file>`; on `kubernetes` the mounted',
    '  Secret, `/run/kiln/secrets/<name>`. `${log.file}` is the server\'s log file (podman:',
    '  `/var/log/kiln/<server>.log`; kubernetes: `/dev/stderr`).',
    '',
    '`kiln flags <service> --env <env>` prints the command line a service\'s servers get;',
    '`kiln deploy <release> --env <env> --dry-run` prints it per cluster, with the files it names',
    '(`--json`: the typed form, `args`).',
    '',
    '## Flag references',
    '',
    'Flag values and positional arguments may contain references, expanded for each server at deploy:',
    '',
    ...FLAG_REFERENCE_FORMS.map((f) => `- \`${f}\``),
    '',
    'Write `$$` for a literal `$`. A cluster reference must name a role that has a `port`.',
    '',
    '## Keys',
  ];
  for (const [top, field] of Object.entries(projectSchema.fields)) {
    out.push('', `### \`${top}\``, '', field.description, '');
    out.push('| key | type | default | description |', '|---|---|---|---|');
    const all = [{ key: top, type: typeOf(field.node), dflt: showDefault(field), description: field.description }, ...rows(field.node, top)];
    for (const r of all) out.push(`| \`${r.key}\` | ${cell(r.type)} | ${cell(r.dflt)} | ${cell(r.description)} |`);
  }
  return out.join('\n') + '\n';
}
