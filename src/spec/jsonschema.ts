// JSON Schema (draft 2020-12) for editors, derived from the same definition the loader validates
// with. It approximates checks that are code (name rules, cross-references) with patterns; the
// loader stays the authority.
import { DURATION_PATTERN, PERCENT_PATTERN, formatDuration, type AnyNode, type Field } from './dsl.js';
import { projectSchema } from './schema.js';

type Json = Record<string, unknown>;

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** The JSON Schema of kiln.yaml (what `kiln schema` prints and schema/kiln.schema.json holds). */
export function generateJsonSchema(): Json {
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: 'kiln.yaml',
    description: 'A Kiln project: OS bases, data stores, services and environments. Reference: docs/kiln-yaml.md.',
    ...nodeSchema(projectSchema),
  };
}

/** A field's default as written in YAML, or undefined when it has none. */
export function fieldDefault(field: Field): unknown {
  if (field.presence !== 'default') return undefined;
  const n = field.node;
  if (field.default !== undefined) {
    if (n.kind === 'duration' && typeof field.default === 'number') return formatDuration(field.default);
    if (n.kind === 'percent' && typeof field.default === 'number') return `${field.default}%`;
    return field.default;
  }
  if (n.kind === 'object') {
    const out: Json = {};
    for (const [k, f] of Object.entries(n.fields)) {
      const d = fieldDefault(f);
      if (d !== undefined) out[k] = d;
    }
    return out;
  }
  if (n.kind === 'map') return {};
  if (n.kind === 'list' || n.kind === 'items') return [];
  return undefined;
}

export function nodeSchema(node: AnyNode): Json {
  const desc = node.description ? { description: node.description } : {};
  switch (node.kind) {
    case 'nullable':
      return { anyOf: [nodeSchema(node.inner), { type: 'null' }], ...desc };
    case 'external':
      return { type: node.jsonType, description: node.description ?? `a ${node.typeName}`, 'x-kiln-type': node.typeName };
    case 'string':
      return {
        type: 'string',
        minLength: 1,
        ...(node.pattern ? { pattern: node.pattern } : {}),
        ...(node.maxLength ? { maxLength: node.maxLength } : {}),
        ...desc,
      };
    case 'int':
      return { type: 'integer', minimum: node.min, maximum: node.max, ...desc };
    case 'number':
      return { type: 'number', minimum: node.min, maximum: node.max, ...desc };
    case 'percent':
      return { type: 'string', pattern: PERCENT_PATTERN, examples: ['10%', '0.5%'], ...desc };
    case 'items':
      return { type: 'array', items: nodeSchema(node.item), ...(node.minItems ? { minItems: node.minItems } : {}), ...desc };
    case 'enum':
      return { enum: [...node.values], ...desc };
    case 'duration':
      return { type: 'string', pattern: DURATION_PATTERN, examples: ['200ms', '2s', '1m'], ...desc };
    case 'bool':
      return { type: 'boolean', ...desc };
    case 'scalar':
      return { type: ['string', 'number', 'boolean'], ...desc };
    case 'list':
      return { type: 'array', items: nodeSchema(node.items), ...(node.minItems ? { minItems: node.minItems } : {}), ...desc };
    case 'object': {
      const properties: Json = {};
      const required: string[] = [];
      for (const [k, f] of Object.entries(node.fields)) {
        const d = fieldDefault(f);
        properties[k] = { ...nodeSchema(f.node), description: f.description, ...(d !== undefined ? { default: d } : {}) };
        if (f.presence === 'required') required.push(k);
      }
      return {
        type: 'object',
        properties,
        ...(required.length ? { required } : {}),
        additionalProperties: false,
        ...desc,
      };
    }
    case 'map':
      return {
        type: 'object',
        propertyNames: { pattern: node.keyPattern },
        additionalProperties: nodeSchema(node.values),
        ...(node.minEntries ? { minProperties: node.minEntries } : {}),
        ...desc,
      };
    case 'shorthand': {
      const field = node.object.fields[node.field];
      return {
        oneOf: [field ? nodeSchema(field.node) : { type: 'string' }, nodeSchema(node.object)],
        ...desc,
      };
    }
    case 'variant':
      return {
        oneOf: Object.entries(node.options).map(([k, option]) => ({
          type: 'object',
          properties: { [k]: nodeSchema(option) },
          required: [k],
          additionalProperties: false,
        })),
        ...desc,
      };
  }
}
