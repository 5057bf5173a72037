import type { CommandDef } from '../command.js';
import { generateJsonSchema } from '../../spec/jsonschema.js';

export const schemaCommand: CommandDef = {
  name: 'schema',
  summary: 'print the JSON Schema of kiln.yaml (for editors); generated from the loader\'s own definition',
  positionals: [],
  options: {},
  async run(ctx) {
    ctx.out(JSON.stringify(generateJsonSchema(), null, 2));
    return 0;
  },
};
