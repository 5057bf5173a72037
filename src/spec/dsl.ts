// A tiny schema language, written once per configuration file and read three ways: by the
// validator (validate.ts), by the JSON Schema generator (jsonschema.ts) for editors, and by the
// reference generator (reference.ts) for docs/. Keeping one definition is what keeps the three
// in agreement; each node carries its own description so docs live next to the rule.
//
// Every node has a phantom output type `T` so the validated value is typed without a second,
// hand-written copy of the shape (see `Infer`).

/** Checks a string (a value or a map key); returns why it is wrong, or null. */
export type StringCheck = (s: string) => string | null;

interface Base<T> {
  readonly __out?: T;
  readonly description?: string;
}

export interface StringNode extends Base<string> {
  readonly kind: 'string';
  /** What the value is, for messages and docs ("name", "DNS name", "path"). */
  readonly label: string;
  readonly check?: StringCheck;
  /** JSON Schema pattern approximating `check` for editors. */
  readonly pattern?: string;
  readonly maxLength?: number;
}
export interface IntNode extends Base<number> {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
}
/** A number (integer or decimal) in [min, max]: ratios such as 1.5. */
export interface NumberNode extends Base<number> {
  readonly kind: 'number';
  readonly min: number;
  readonly max: number;
}
/** "10%", "0.5%": validated into a number of percent (0-100, at most two decimals). */
export interface PercentNode extends Base<number> {
  readonly kind: 'percent';
  readonly min: number;
  readonly max: number;
}
export interface EnumNode<V extends string = string> extends Base<V> {
  readonly kind: 'enum';
  readonly values: readonly V[];
}
/** "200ms", "2s", "1.5m", "1h"; validated into milliseconds. */
export interface DurationNode extends Base<number> {
  readonly kind: 'duration';
}
/** true or false. */
export interface BoolNode extends Base<boolean> {
  readonly kind: 'bool';
}
/** A flag value: string, number or boolean. */
export interface ScalarNode extends Base<string | number | boolean> {
  readonly kind: 'scalar';
}
export interface ListNode extends Base<string[]> {
  readonly kind: 'list';
  readonly items: StringNode;
  readonly minItems: number;
}

/** A list of mappings, each validated as `item` (canary steps). */
export interface ItemsNode<O extends ObjectNode = ObjectNode> extends Base<Array<Infer<O>>> {
  readonly kind: 'items';
  readonly item: O;
  readonly minItems: number;
}

export type Presence = 'required' | 'optional' | 'default';
export interface Field<N extends AnyNode = AnyNode, P extends Presence = Presence> {
  readonly node: N;
  readonly presence: P;
  readonly description: string;
  /** Value used when the key is absent (objects, maps and lists default to their empty value). */
  readonly default?: unknown;
  /** How the default is shown in docs when it is computed from other keys. */
  readonly defaultDoc?: string;
}
export type Fields = Record<string, Field>;

export interface ObjectNode<F extends Fields = Fields> extends Base<InferFields<F>> {
  readonly kind: 'object';
  readonly fields: F;
}
export interface MapNode<V extends AnyNode = AnyNode> extends Base<Record<string, Infer<V>>> {
  readonly kind: 'map';
  /** What a key names ("service", "role"), for messages and docs. */
  readonly keyLabel: string;
  readonly keyCheck: StringCheck;
  readonly keyPattern: string;
  readonly values: V;
  readonly minEntries: number;
}
/** A string shorthand for an object: `health: /healthz` means `health: { path: /healthz }`. */
export interface ShorthandNode<O extends ObjectNode = ObjectNode> extends Base<Infer<O>> {
  readonly kind: 'shorthand';
  readonly field: string;
  readonly object: O;
}
/** An object with exactly one of several keys, each selecting a variant (`{ debian: {...} }`). */
export interface VariantNode<F extends Record<string, AnyNode> = Record<string, AnyNode>>
  extends Base<{ [K in keyof F]: { [P in K]: Infer<F[K]> } }[keyof F]> {
  readonly kind: 'variant';
  readonly options: F;
}

/** A value or JSON null (API answers: a cluster without an active group). Not for kiln.yaml. */
export interface NullableNode<N extends AnyNode = AnyNode> extends Base<Infer<N> | null> {
  readonly kind: 'nullable';
  readonly inner: N;
}
/**
 * A JSON value whose shape is a TypeScript type defined elsewhere (`typeName`), e.g. a release
 * diff's union of changes: typed for code, described (not spelled out) in the JSON Schema.
 * Only for API answers; a request is always spelled out so it can be validated.
 */
export interface ExternalNode<T = unknown> extends Base<T> {
  readonly kind: 'external';
  readonly typeName: string;
  readonly jsonType: 'object' | 'array';
}

export type AnyNode =
  | NullableNode
  | ExternalNode
  | StringNode
  | IntNode
  | NumberNode
  | PercentNode
  | EnumNode
  | DurationNode
  | BoolNode
  | ScalarNode
  | ListNode
  | ItemsNode
  | ObjectNode
  | MapNode
  | ShorthandNode
  | VariantNode;

export type Infer<N> = N extends Base<infer T> ? T : never;

type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K]['presence'] extends 'optional' ? K : never }[keyof F];
type PresentKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>;
type Flatten<T> = { [K in keyof T]: T[K] };
export type InferFields<F extends Fields> = Flatten<
  { [K in PresentKeys<F>]: Infer<F[K]['node']> } & { [K in OptionalKeys<F>]?: Infer<F[K]['node']> }
>;

// ---- builders ------------------------------------------------------------------------------

export function str(label = 'string', opts: { check?: StringCheck; pattern?: string; maxLength?: number; description?: string } = {}): StringNode {
  return { kind: 'string', label, ...opts };
}
export function int(min: number, max: number, description?: string): IntNode {
  return { kind: 'int', min, max, description };
}
export function num(min: number, max: number, description?: string): NumberNode {
  return { kind: 'number', min, max, description };
}
export function percent(min: number, max: number, description?: string): PercentNode {
  return { kind: 'percent', min, max, description };
}
export function items<O extends ObjectNode>(item: O, minItems = 0, description?: string): ItemsNode<O> {
  return { kind: 'items', item, minItems, description };
}
export function oneOf<V extends string>(values: readonly V[], description?: string): EnumNode<V> {
  return { kind: 'enum', values, description };
}
export function duration(description?: string): DurationNode {
  return { kind: 'duration', description };
}
export function bool(description?: string): BoolNode {
  return { kind: 'bool', description };
}
export function scalar(description?: string): ScalarNode {
  return { kind: 'scalar', description };
}
export function list(items: StringNode, minItems = 0, description?: string): ListNode {
  return { kind: 'list', items, minItems, description };
}
export function obj<F extends Fields>(fields: F, description?: string): ObjectNode<F> {
  return { kind: 'object', fields, description };
}
export function mapOf<V extends AnyNode>(
  keyLabel: string,
  key: { check: StringCheck; pattern: string },
  values: V,
  minEntries = 0,
  description?: string,
): MapNode<V> {
  return { kind: 'map', keyLabel, keyCheck: key.check, keyPattern: key.pattern, values, minEntries, description };
}
export function shorthand<O extends ObjectNode>(field: string, object: O, description?: string): ShorthandNode<O> {
  return { kind: 'shorthand', field, object, description };
}
export function variant<F extends Record<string, AnyNode>>(options: F, description?: string): VariantNode<F> {
  return { kind: 'variant', options, description };
}

export function nullable<N extends AnyNode>(inner: N, description?: string): NullableNode<N> {
  return { kind: 'nullable', inner, description };
}
/** `external<ReleaseDiff>('ReleaseDiff (src/release/diff.ts)')`: the type comes from the code. */
export function external<T>(typeName: string, jsonType: 'object' | 'array' = 'object', description?: string): ExternalNode<T> {
  return { kind: 'external', typeName, jsonType, description };
}

export function required<N extends AnyNode>(node: N, description: string): Field<N, 'required'> {
  return { node, presence: 'required', description };
}
export function optional<N extends AnyNode>(node: N, description: string, defaultDoc?: string): Field<N, 'optional'> {
  return { node, presence: 'optional', description, defaultDoc };
}
/** A key with a default. Objects, maps and lists may omit `value`: their empty value is used. */
export function withDefault<N extends AnyNode>(node: N, description: string, value?: Infer<N>): Field<N, 'default'> {
  return { node, presence: 'default', description, default: value };
}

// ---- percentages ---------------------------------------------------------------------------

export const PERCENT_PATTERN = '^[0-9]+(\\.[0-9]{1,2})?%$';

/** 10 for "10%", 0.5 for "0.5%"; null if it is not such a string (at most two decimals). */
export function parsePercent(s: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]{1,2})?)%$/.exec(s.trim());
  return m && m[1] ? Number(m[1]) : null;
}

// ---- durations -----------------------------------------------------------------------------

export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds for "200ms", "2s", "1.5m", "1h"; null if it is not such a string. */
export function parseDuration(s: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m || !m[1] || !m[2]) return null;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2]] ?? 0));
}

/** "200ms", "2s", "1m" for a whole number of milliseconds, the form docs show defaults in. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
