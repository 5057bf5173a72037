import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { SHELLS, completionScript, type Shell } from '../completion.js';
import { closest } from '../../spec/problems.js';
import { ALIASES, loadAllCommands } from './index.js';

export const completionCommand: CommandDef = {
  name: 'completion',
  summary: 'print a shell completion script (bash, zsh or fish) made from the command table',
  description: 'Completes verbs, their aliases and each verb\'s options. Load it in your shell\'s startup file.',
  positionals: [{ name: 'shell', required: true, description: 'bash, zsh or fish' }],
  options: {},
  json: true,
  examples: ['source <(kiln completion bash)   # in ~/.bashrc', 'kiln completion zsh > "${fpath[1]}/_kiln"', 'kiln completion fish > ~/.config/fish/completions/kiln.fish'],
  async run(ctx) {
    const shell = ctx.positionals[0] as string;
    if (!(SHELLS as readonly string[]).includes(shell)) {
      const near = closest(shell, SHELLS);
      throw new KilnError('USAGE', `no completion for shell "${shell}"${near ? `; did you mean ${near}?` : ''}`, { hint: `shells: ${SHELLS.join(', ')}` });
    }
    const script = completionScript(shell as Shell, { commands: await loadAllCommands(), aliases: ALIASES });
    if (ctx.json) ctx.outJson({ shell, script });
    else process.stdout.write(script);
    return 0;
  },
};
