// Who servers and builds run as (docs/isolation.md). When Kiln runs as root, each environment's
// servers run as a uid of their own (one per project and environment) with the store's server
// group as their only group, and builds as a build uid outside that group; each gets exactly its
// own files: its environment's secrets (0400), stores and log directory, its working directory,
// and the read-only app files. When Kiln is not root it cannot switch users: everything runs as
// Kiln's own user, and `view()` says what isolation that loses (shown by `kiln status`).
import os from 'node:os';
import path from 'node:path';
import type { Database } from '../store/state-db.js';
import { IsolationIdTable } from '../store/isolation-ids.js';
import { secureStoreModes, gateMode } from '../store/modes.js';
import { allocateId } from './ids.js';
import { IdRegistry } from './registry.js';
import { readSystemIds, type SystemIds } from './system-ids.js';
import { prepareServerFiles, type ServerFiles } from './prepare.js';

/** A process's uid and (only) gid. */
export interface Identity {
  uid: number;
  gid: number;
}

export type IsolationView =
  | {
      mode: 'users';
      /** The servers' shared group: the only group that may pass through .kiln. */
      group: number;
      /** uid of each environment's servers (those started so far). */
      environments: Record<string, number>;
      /** uid (and gid) builds run as, once one ran. */
      build: number | null;
    }
  | {
      mode: 'none';
      /** The user everything runs as. */
      user: string;
      /** What a server or build can do that it could not with isolation. */
      lost: string[];
    };

export interface IsolationOptions {
  /** Effective uid of this process (tests pretend). Default process.geteuid(). */
  euid?: number;
  registry?: IdRegistry;
  system?: () => SystemIds;
}

export const LOST_WITHOUT_ROOT = [
  "a server can read every environment's secrets, stores and logs, not only its own",
  'a server can read the API token (.kiln/run/token) and state.db, and reach the control plane and proxy admin sockets',
  'a build can read .kiln/ and everything else its user can',
];

const SERVER_SUBJECT = (env: string): string => `env:${env}`;

export class Isolation {
  readonly enabled: boolean;
  private readonly table: IsolationIdTable;
  private readonly registry: IdRegistry;
  private readonly system: () => SystemIds;
  /** Numbers checked against the registry by this process (once each). */
  private readonly known = new Map<string, number>();
  private secured = false;

  constructor(
    readonly kilnDir: string,
    db: Database,
    opts: IsolationOptions = {},
  ) {
    this.enabled = (opts.euid ?? process.geteuid?.() ?? -1) === 0;
    this.table = new IsolationIdTable(db);
    this.registry = opts.registry ?? new IdRegistry();
    this.system = opts.system ?? readSystemIds;
  }

  private id(subject: string): number {
    let id = this.known.get(subject);
    if (id === undefined) {
      id = allocateId({ table: this.table, registry: this.registry, system: this.system }, { store: path.resolve(this.kilnDir), subject });
      this.known.set(subject, id);
    }
    return id;
  }

  /** The servers' group, or null without isolation. */
  group(): number | null {
    return this.enabled ? this.id('group') : null;
  }

  /** Who an environment's servers run as; null: as Kiln itself. */
  serverIdentity(env: string): Identity | null {
    if (!this.enabled) return null;
    return { uid: this.id(SERVER_SUBJECT(env)), gid: this.id('group') };
  }

  /** Who builds run as: their own uid and gid, outside the servers' group (so not into .kiln). */
  buildIdentity(): Identity | null {
    if (!this.enabled) return null;
    const id = this.id('build');
    return { uid: id, gid: id };
  }

  /** .kiln's top level: 0700, or 0710 for the servers' group (store/modes.ts). */
  secureStore(): void {
    secureStoreModes(this.kilnDir, this.group());
    this.secured = true;
  }

  /**
   * Everything one server needs, owned so that it gets exactly that; returns who to run it as
   * (null without isolation). Idempotent, and cheap enough for every start.
   */
  prepareServer(files: ServerFiles): Identity | null {
    const who = this.serverIdentity(files.env);
    if (!who) return null;
    if (!this.secured) this.secureStore();
    prepareServerFiles(this.kilnDir, files, who, gateMode(who.gid));
    return who;
  }

  view(): IsolationView {
    if (!this.enabled) {
      const uid = process.geteuid?.() ?? -1;
      let name = String(uid);
      try {
        name = `${os.userInfo().username} (uid ${uid})`;
      } catch {
        /* a uid without an account */
      }
      return { mode: 'none', user: name, lost: LOST_WITHOUT_ROOT };
    }
    const rows = this.table.all();
    const environments: Record<string, number> = {};
    for (const r of rows) if (r.subject.startsWith('env:')) environments[r.subject.slice(4)] = r.id;
    return { mode: 'users', group: this.group() as number, environments, build: rows.find((r) => r.subject === 'build')?.id ?? null };
  }
}

/** One line for `kiln status`. */
export function formatIsolation(v: IsolationView): string {
  if (v.mode === 'none') {
    return `! isolation: none — kiln runs as ${v.user}, not root, so servers and builds run as that user too: ${v.lost.join('; ')} (docs/isolation.md)`;
  }
  const envs = Object.entries(v.environments).map(([e, uid]) => `${e} ${uid}`);
  return `isolation: users — servers run as one uid per environment${envs.length ? ` (${envs.join(', ')})` : ''}, group ${v.group}; builds as uid ${v.build ?? '(none yet)'}`;
}
