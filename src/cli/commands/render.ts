import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { getRelease, listReleases } from '../../release/index.js';
import { RuntimeState } from '../../store/runtime-state.js';
import { planKubernetes } from '../../runtime/kubernetes/plan.js';
import { planObjects, renderYaml, writeRenderedDir } from '../../runtime/kubernetes/render.js';

export const renderKubernetesCommand: CommandDef = {
  name: 'render kubernetes',
  summary: 'write a release\'s Kubernetes manifests for an environment (for GitOps: Argo CD, Flux)',
  description:
    'Renders what `kiln deploy` would create on a kubernetes environment: per cluster, a Deployment\n' +
    'named after the new server group, its preview Service and the cluster\'s Service selecting it.\n' +
    'Nothing is contacted or changed. Secrets appear only as references to Secret objects\n' +
    '(kiln-<env>-<name>, key "value"), which you create; their values are never rendered. Group\n' +
    'build numbers come from this checkout\'s state, so names match what a deploy from here makes.',
  positionals: [{ name: 'release', required: false, description: 'release to render (default: the newest)' }],
  options: {
    env: { type: 'string', short: 'e', value: '<env>', description: 'a kubernetes environment from kiln.yaml (required)' },
    output: { type: 'string', short: 'o', value: '<dir>', description: 'write one file per object into <dir> (created if missing)', default: 'YAML on stdout' },
  },
  json: true,
  examples: ['kiln render kubernetes r7 --env prod', 'kiln render kubernetes --env prod -o deploy/prod'],
  async run(ctx) {
    const env = ctx.options.env;
    if (typeof env !== 'string') throw new KilnError('USAGE', 'missing --env <env>', { location: { flag: '--env' } });
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const store = openStore(spec.dir);
    let plan;
    try {
      const name = ctx.positionals[0] ?? listReleases(store.db).at(-1)?.name;
      if (!name) throw new KilnError('RELEASE_NOT_FOUND', 'there is no release yet', { hint: 'kiln release create' });
      const release = getRelease(store.db, store.oci, name);
      const state = new RuntimeState(store.db);
      plan = planKubernetes(spec, env, release.manifest, { kilnDir: store.kilnDir, buildOf: (c) => state.cluster(c)?.next_build ?? 1 });
    } finally {
      store.db.close();
    }
    const out = ctx.options.output;
    if (typeof out === 'string') {
      const { written, removed } = writeRenderedDir(out, plan);
      if (ctx.json) ctx.outJson({ release: plan.release, env, namespace: plan.namespace, written, removed, secrets: secretsOf(plan) });
      else {
        ctx.out(`${written.length} file(s) written to ${out}${removed.length ? `, ${removed.length} stale one(s) removed` : ''}`);
        const secrets = secretsOf(plan);
        if (secrets.length) ctx.out(`Secrets the manifests reference (create them in ${plan.namespace}, key "value"): ${secrets.join(', ')}`);
      }
      return 0;
    }
    if (ctx.json) ctx.outJson({ release: plan.release, env, namespace: plan.namespace, objects: planObjects(plan), secrets: secretsOf(plan) });
    else ctx.out(renderYaml(plan).trimEnd());
    return 0;
  },
};

/** The Secret objects the manifests mount, each once. */
function secretsOf(plan: ReturnType<typeof planKubernetes>): string[] {
  const names = new Set<string>();
  for (const c of plan.clusters) {
    for (const o of c.objects) {
      if (o.kind !== 'Deployment') continue;
      for (const v of o.spec.template.spec.volumes) if ('projected' in v) for (const s of v.projected.sources) names.add(s.secret.name);
    }
  }
  return [...names].sort();
}
