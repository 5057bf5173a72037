// Migration 8: what each deployment ran with besides its release (docs/architecture.md, "A
// release and an environment"). A release freezes code, OS and data; an environment's flags and
// scale come from kiln.yaml when the deploy runs, so each deployment records the configuration it
// rendered (deploy/config.ts): its digest and the flags per cluster. Secrets are in it only as
// references (the path of a secret's version file, named by an HMAC of the value), never values.
import type Database from 'better-sqlite3';
import type { DeployConfig } from '../deploy/config.js';

export const DEPLOYMENT_CONFIGS_SQL = `
CREATE TABLE deployment_configs (
  deployment_id INTEGER PRIMARY KEY REFERENCES deployments(id),
  digest        TEXT NOT NULL,
  config        TEXT NOT NULL
);`;

export interface RecordedConfig {
  deployment: number;
  release: string;
  digest: string;
  config: DeployConfig;
}

export class DeploymentConfigs {
  constructor(private readonly db: Database.Database) {}

  record(deployment: number, digest: string, config: DeployConfig): void {
    this.db.prepare('INSERT INTO deployment_configs(deployment_id, digest, config) VALUES (?, ?, ?)').run(deployment, digest, JSON.stringify(config));
  }

  of(deployment: number): RecordedConfig | undefined {
    const r = this.db
      .prepare('SELECT c.deployment_id AS id, d.release, c.digest, c.config FROM deployment_configs c JOIN deployments d ON d.id = c.deployment_id WHERE c.deployment_id = ?')
      .get(deployment) as { id: number; release: string; digest: string; config: string } | undefined;
    return r ? { deployment: r.id, release: r.release, digest: r.digest, config: JSON.parse(r.config) as DeployConfig } : undefined;
  }

  /** The configuration of the environment's newest deploy that succeeded. */
  lastSucceeded(env: string): RecordedConfig | undefined {
    const r = this.db
      .prepare(`SELECT c.deployment_id AS id FROM deployment_configs c JOIN deployments d ON d.id = c.deployment_id WHERE d.env = ? AND d.state = 'succeeded' ORDER BY d.id DESC LIMIT 1`)
      .get(env) as { id: number } | undefined;
    return r ? this.of(r.id) : undefined;
  }
}
