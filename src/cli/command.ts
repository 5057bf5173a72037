// The shape of one CLI verb. Commands only parse arguments and call the rest (STYLE.md, Kamal's
// cli/): the logic lives in store/, release/, deploy/, server/.
import type { KilnError } from '../errors.js';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** Shown in help; the command applies its own default. */
  default?: string;
  /** Value placeholder in help, e.g. "<env>". */
  value?: string;
  multiple?: boolean;
}

export interface PositionalDef {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandContext {
  /** The verb and its arguments' names, e.g. "kiln data status <store>" (for hints). */
  usage: string;
  /** Directory the command runs in (--project, else cwd). */
  cwd: string;
  json: boolean;
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Result output (stdout). */
  out(text: string): void;
  /** Machine-readable result (stdout), only used with --json. */
  outJson(value: unknown): void;
  /** Progress and diagnostics (stderr), silent with --json. */
  progress(text: string): void;
}

export interface CommandDef {
  /** Full verb, e.g. "app tag". */
  name: string;
  summary: string;
  description?: string;
  positionals: PositionalDef[];
  options: Record<string, OptionDef>;
  examples?: string[];
  /** Every command takes --json (a test holds them to it): true once the command writes JSON. */
  json: true;
  run(ctx: CommandContext): Promise<number>;
}

export type ErrorPrinter = (e: KilnError) => void;
