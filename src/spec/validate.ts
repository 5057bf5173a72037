// Validates a parsed YAML document against a schema (dsl.ts), reporting every problem at the
// offending node: an unknown key at the key, a wrong value at the value, a missing key at the
// key of the object that lacks it. Invalid parts are left out of the result (never guessed), so
// later cross-reference checks see a `Loose` value and must not assume any key is there.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode, type Pair } from 'yaml';
import {
  parseDuration,
  parsePercent,
  type ItemsNode,
  type AnyNode,
  type Field,
  type Infer,
  type ListNode,
  type MapNode,
  type ObjectNode,
  type ShorthandNode,
  type StringNode,
  type VariantNode,
} from './dsl.js';
import { allowedHint, type Problems } from './problems.js';

/** What the validator returns: the schema's shape, any part of which may be missing. */
export type Loose<T> = T extends readonly (infer U)[]
  ? Loose<U>[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> }
    : T;

interface Ctx {
  doc: Document;
  problems: Problems;
}

/** Validates the document's root against `schema`; problems go to `problems`. */
export function validateDocument<N extends AnyNode>(schema: N, doc: Document, problems: Problems): Loose<Infer<N>> | undefined {
  const root = doc.contents as YamlNode | null;
  if (root === null || (isScalar(root) && root.value === null)) {
    problems.at(null, 'kiln.yaml is empty', 'start with "project: <name>"; see docs/kiln-yaml.md');
    return undefined;
  }
  return validate({ doc, problems }, schema, root, [], null) as Loose<Infer<N>> | undefined;
}

/** "services.api.roles.http", or "the top level" for the root. */
export function showPath(path: readonly string[]): string {
  if (!path.length) return 'the top level';
  return path.map((p, i) => (i === 0 || p.startsWith('[') ? p : `.${p}`)).join('');
}

function deref(ctx: Ctx, node: unknown): YamlNode | null {
  if (isAlias(node)) return (node.resolve(ctx.doc) as YamlNode | undefined) ?? null;
  return (node as YamlNode | null) ?? null;
}

/** How a YAML value looks, for "got ..." in messages. */
function got(node: YamlNode | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : JSON.stringify(node.value);
  return 'an unsupported YAML value';
}

/** A schema node described in words, for messages. */
export function describe(node: AnyNode): string {
  switch (node.kind) {
    case 'string':
      return node.label === 'string' ? 'a string' : `a ${node.label}`;
    case 'int':
      return `an integer from ${node.min} to ${node.max}`;
    case 'number':
      return `a number from ${node.min} to ${node.max}`;
    case 'percent':
      return `a percentage from ${node.min}% to ${node.max}% such as 10%`;
    case 'enum':
      return `one of ${node.values.join(', ')}`;
    case 'duration':
      return 'a duration such as 200ms, 2s or 1m';
    case 'bool':
      return 'true or false';
    case 'scalar':
      return 'a string, number or boolean';
    case 'list':
      return `a list of ${node.items.label === 'string' ? 'strings' : `${node.items.label}s`}`;
    case 'items':
      return 'a list of mappings';
    case 'object':
      return 'a mapping';
    case 'map':
      return `a mapping of ${node.keyLabel} names`;
    case 'shorthand':
      return `a ${node.field} string or a mapping`;
    case 'variant':
      return `a mapping with one of ${Object.keys(node.options).join(', ')}`;
    case 'nullable':
      return `${describe(node.inner)} or null`;
    case 'external':
      return `a ${node.typeName}`;
  }
}

/** An empty container counts as "nothing written": `flags:` is the same as `flags: {}`. */
function isNull(node: YamlNode | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

function validate(ctx: Ctx, schema: AnyNode, raw: unknown, path: string[], key: YamlNode | null): unknown {
  const node = deref(ctx, raw);
  // An empty value (`health:`) has no text of its own: point at its key instead.
  const at = isNull(node) && key ? key : node;
  const wrong = (hint?: string): undefined => {
    ctx.problems.at(at, `${showPath(path)} must be ${describe(schema)}, got ${got(node)}`, hint);
    return undefined;
  };
  switch (schema.kind) {
    case 'nullable':
      return isNull(node) ? null : validate(ctx, schema.inner, raw, path, key);
    case 'external':
      // Only in API answers, which are produced, never parsed: taken as it is.
      return node === null ? null : (node.toJS(ctx.doc) as unknown);
    case 'object':
      if (isNull(node)) return validateObject(ctx, schema, [], path, key ?? node);
      if (!isMap(node)) return wrong();
      return validateObject(ctx, schema, node.items as Pair[], path, key ?? node);
    case 'map':
      if (isNull(node)) return validateMap(ctx, schema, [], path, key ?? node);
      if (!isMap(node)) return wrong();
      return validateMap(ctx, schema, node.items as Pair[], path, key ?? node);
    case 'variant':
      if (!isMap(node)) return wrong();
      return validateVariant(ctx, schema, node.items as Pair[], path, key ?? node);
    case 'shorthand':
      return validateShorthand(ctx, schema, node, path, key);
    case 'list':
      if (isNull(node)) return validateList(ctx, schema, [], path, key);
      if (!isSeq(node)) return wrong();
      return validateList(ctx, schema, node.items, path, key ?? node);
    case 'items':
      if (isNull(node)) return validateItems(ctx, schema, [], path, key);
      if (!isSeq(node)) return wrong();
      return validateItems(ctx, schema, node.items, path, key ?? node);
    default:
      break;
  }
  if (!isScalar(node)) return wrong();
  const v = node.value;
  switch (schema.kind) {
    case 'string':
      return validateString(ctx, schema, node, path, wrong);
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < schema.min || v > schema.max) return wrong();
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v) || v < schema.min || v > schema.max) return wrong();
      return v;
    case 'percent': {
      const p = typeof v === 'string' ? parsePercent(v) : null;
      if (p === null || p < schema.min || p > schema.max) return wrong(typeof v === 'number' ? `add the percent sign: ${v}%` : undefined);
      return p;
    }
    case 'enum':
      if (typeof v !== 'string' || !schema.values.includes(v)) return wrong(allowedHint(String(v), schema.values));
      return v;
    case 'duration': {
      const ms = typeof v === 'string' ? parseDuration(v) : null;
      if (ms === null) return wrong(typeof v === 'number' ? `add a unit: ${v}ms, ${v}s or ${v}m` : undefined);
      return ms;
    }
    case 'bool':
      if (typeof v !== 'boolean') return wrong(typeof v === 'string' ? 'write true or false without quotes' : undefined);
      return v;
    case 'scalar':
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return wrong();
      return v;
  }
}

function validateString(ctx: Ctx, schema: StringNode, node: YamlNode, path: string[], wrong: (hint?: string) => undefined): unknown {
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v !== 'string') {
    // A YAML number or boolean where a string belongs: likely meant literally, so say how.
    return wrong(typeof v === 'number' || typeof v === 'boolean' ? `quote it: "${String(v)}"` : undefined);
  }
  const problem = schema.check?.(v);
  if (problem) {
    ctx.problems.at(node, `${showPath(path)} "${v}" ${problem}`);
    return undefined;
  }
  return v;
}

/** The text of a mapping key, or null (after reporting) if it is not a plain string. */
function keyText(ctx: Ctx, pair: Pair, path: string[]): { text: string; node: YamlNode } | null {
  const k = deref(ctx, pair.key);
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) {
    return { text: String(k.value), node: k };
  }
  ctx.problems.at(k, `keys in ${showPath(path)} must be strings, got ${got(k)}`);
  return null;
}

function validateObject(
  ctx: Ctx,
  schema: ObjectNode,
  pairs: Pair[],
  path: string[],
  at: YamlNode | null,
  given: Record<string, unknown> = {},
): unknown {
  // `given`: fields already validated elsewhere (the string of a shorthand).
  const out: Record<string, unknown> = { ...given };
  const allowed = Object.keys(schema.fields);
  const seen = new Set<string>(Object.keys(given));
  for (const pair of pairs) {
    const k = keyText(ctx, pair, path);
    if (!k) continue;
    const field = schema.fields[k.text];
    if (!field) {
      ctx.problems.at(k.node, `unknown key "${k.text}" in ${showPath(path)}`, allowedHint(k.text, allowed));
      continue;
    }
    seen.add(k.text);
    const v = validate(ctx, field.node, pair.value, [...path, k.text], k.node);
    if (v !== undefined) out[k.text] = v;
  }
  for (const [name, field] of Object.entries(schema.fields)) {
    if (seen.has(name)) continue;
    if (field.presence === 'required') {
      ctx.problems.at(at, `missing required key "${name}" in ${showPath(path)}`, `${name}: ${field.description}`);
    } else if (field.presence === 'default') {
      out[name] = defaultValue(ctx, field, [...path, name], at);
    }
  }
  return out;
}

/** A field's default; containers without an explicit default are validated as empty. */
function defaultValue(ctx: Ctx, field: Field, path: string[], at: YamlNode | null): unknown {
  if (field.default !== undefined) return structuredClone(field.default);
  const n = field.node;
  if (n.kind === 'object') return validateObject(ctx, n, [], path, at);
  if (n.kind === 'map') return {};
  if (n.kind === 'list' || n.kind === 'items') return [];
  throw new Error(`schema bug: ${path.join('.')} has a default but no value`);
}

function validateMap(ctx: Ctx, schema: MapNode, pairs: Pair[], path: string[], at: YamlNode | null): unknown {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const k = keyText(ctx, pair, path);
    if (!k) continue;
    const problem = schema.keyCheck(k.text);
    if (problem) {
      ctx.problems.at(k.node, `${schema.keyLabel} name "${k.text}" in ${showPath(path)} ${problem}`);
      continue;
    }
    const v = validate(ctx, schema.values, pair.value, [...path, k.text], k.node);
    if (v !== undefined) out[k.text] = v;
  }
  if (pairs.length < schema.minEntries) {
    ctx.problems.at(at, `${showPath(path)} needs at least ${schema.minEntries} ${schema.keyLabel}`);
  }
  return out;
}

function validateVariant(ctx: Ctx, schema: VariantNode, pairs: Pair[], path: string[], at: YamlNode | null): unknown {
  const allowed = Object.keys(schema.options);
  let chosen: { text: string; value: unknown } | null = null;
  let ok = true;
  for (const pair of pairs) {
    const k = keyText(ctx, pair, path);
    if (!k) continue;
    const option = schema.options[k.text];
    if (!option) {
      ctx.problems.at(k.node, `unknown key "${k.text}" in ${showPath(path)}`, allowedHint(k.text, allowed));
      ok = false;
      continue;
    }
    if (chosen) {
      ctx.problems.at(k.node, `${showPath(path)} has both "${chosen.text}" and "${k.text}"; write exactly one`, `allowed: ${allowed.join(', ')}`);
      ok = false;
      continue;
    }
    chosen = { text: k.text, value: validate(ctx, option, pair.value, [...path, k.text], k.node) };
  }
  if (!chosen) {
    if (ok) ctx.problems.at(at, `${showPath(path)} needs one of ${allowed.join(', ')}`);
    return undefined;
  }
  return chosen.value === undefined ? undefined : { [chosen.text]: chosen.value };
}

function validateShorthand(ctx: Ctx, schema: ShorthandNode, node: YamlNode | null, path: string[], key: YamlNode | null): unknown {
  if (isMap(node)) return validateObject(ctx, schema.object, node.items as Pair[], path, key ?? node);
  const field = schema.object.fields[schema.field];
  if (isScalar(node) && typeof node.value === 'string' && field) {
    // Validate the string as the field it stands for, then fill the object's other defaults.
    const v = validate(ctx, field.node, node, [...path, schema.field], key);
    if (v === undefined) return undefined;
    return validateObject(ctx, schema.object, [], path, key, { [schema.field]: v });
  }
  ctx.problems.at(isNull(node) && key ? key : node, `${showPath(path)} must be ${describe(schema)}, got ${got(node)}`);
  return undefined;
}

function validateList(ctx: Ctx, schema: ListNode, items: unknown[], path: string[], at: YamlNode | null): unknown {
  const out: string[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const v = validate(ctx, schema.items, item, [...path, `[${i}]`], at);
    if (typeof v === 'string') out.push(v);
    else ok = false;
  });
  if (items.length < schema.minItems) {
    ctx.problems.at(at, `${showPath(path)} needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
    return undefined;
  }
  return ok ? out : undefined;
}


function validateItems(ctx: Ctx, schema: ItemsNode, items: unknown[], path: string[], at: YamlNode | null): unknown {
  const out: unknown[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const v = validate(ctx, schema.item, item, [...path, `[${i}]`], null);
    if (v === undefined) ok = false;
    else out.push(v);
  });
  if (items.length < schema.minItems) {
    ctx.problems.at(at, `${showPath(path)} needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
    return undefined;
  }
  return ok ? out : undefined;
}
