import type { CommandDef } from '../command.js';
import { generateJsonSchema } from '../../spec/jsonschema.js';

export const schemaCommand: CommandDef = {
  name: 'schema',
  summary: 'print the JSON Schema of kiln.yaml (for editors); generated from the loader\'s own definition',
  positionals: [],
  options: {},
  // Its output is JSON already: --json prints the same document.
  json: true,
  examples: ['kiln schema > kiln.schema.json'],
  async run(ctx) {
    if (ctx.json) ctx.outJson(generateJsonSchema());
    else ctx.out(JSON.stringify(generateJsonSchema(), null, 2));
    return 0;
  },
};
