import type { CommandDef } from '../command.js';
import { manPage } from '../man.js';
import { VERSION } from '../../version.js';
import { ALIASES, loadAllCommands } from './index.js';

export const manCommand: CommandDef = {
  name: 'man',
  summary: 'print the kiln(1) manual page (roff), made from the command table like --help',
  positionals: [],
  options: {},
  json: true,
  examples: ['kiln man | man -l -', 'kiln man > ~/.local/share/man/man1/kiln.1'],
  async run(ctx) {
    const page = manPage(await loadAllCommands(), ALIASES, VERSION);
    if (ctx.json) ctx.outJson({ section: 1, roff: page });
    else process.stdout.write(page);
    return 0;
  },
};
