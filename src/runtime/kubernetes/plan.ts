// A release planned for a Kubernetes environment: per cluster, the group a deploy creates and
// the exact objects for it, with flags rendered for the pod (paths as the container sees them).
// Pure apart from the inputs: `kiln render kubernetes` prints it, the runtime applies it.
import { KilnError } from '../../errors.js';
import { environmentOf } from '../../spec/lookup.js';
import { clusterName, serverGroupName } from '../../names/names.js';
import type { ReleaseManifest } from '../../release/types.js';
import type { ProjectSpec } from '../../spec/types.js';
import { layersOf, renderServerArgs } from '../../deploy/flags.js';
import { argv, type PartResolver } from '../args.js';
import { defaultSecretPath, locateStore } from '../../streams/data/index.js';
import { clusterService, groupDeployment, imageReference, POD_PATHS, previewService, secretObjectName } from './manifests.js';
import type { KubeObject } from './objects.js';
import { CONTAINER_PORT, SERVICE_PORT, type KubernetesSettings } from './settings.js';

export interface KubeClusterPlan {
  cluster: string;
  service: string;
  role: string;
  group: string;
  build: number;
  replicas: number;
  /** The Kiln secrets the group's flags name (their values are never part of a plan). */
  secrets: string[];
  /** Deployment, then (roles with a port) the preview Service and the cluster Service. */
  objects: KubeObject[];
}

export interface KubePlan {
  project: string;
  env: string;
  release: string;
  namespace: string;
  clusters: KubeClusterPlan[];
}

/** The environment's Kubernetes settings, or a clear error when it does not run on Kubernetes. */
export function kubernetesSettingsOf(spec: ProjectSpec, env: string): KubernetesSettings {
  const e = environmentOf(spec, env);
  if (e.runtime !== 'kubernetes' || !e.kubernetes) {
    const k8s = Object.values(spec.environments).filter((x) => x.runtime === 'kubernetes').map((x) => x.name);
    throw new KilnError('RUNTIME_UNSUPPORTED', `environment "${env}" runs on ${e.runtime}, not kubernetes`, {
      location: { flag: '--env' },
      hint: k8s.length ? `Kubernetes environments: ${k8s.join(', ')}` : `set environments.${env}.runtime: kubernetes and environments.${env}.kubernetes.namespace in ${spec.file}`,
    });
  }
  return e.kubernetes;
}

/** URL of a cluster's Service from inside the namespace's pods (cluster DNS). */
export function clusterServiceUrl(cluster: string, namespace: string): string {
  return `http://${cluster}.${namespace}.svc:${SERVICE_PORT}`;
}

/** Kubernetes Service names are DNS-1035 labels: they must start with a letter. */
function checkServiceName(name: string, what: string): void {
  if (!/^[a-z]/.test(name)) {
    throw new KilnError('NAME_INVALID', `${what} "${name}" cannot name a Kubernetes Service: it must start with a letter`, {
      hint: 'rename the service in kiln.yaml so it starts with a letter (a-z)',
    });
  }
}

/**
 * @param buildOf the build number the next group of a cluster gets (Kiln's state; 1 when new).
 * @param secretObjectOf the Secret object holding a Kiln secret (the runtime versions them by
 *   content digest; render uses the stable name users create themselves).
 */
export function planKubernetes(
  spec: ProjectSpec,
  env: string,
  release: ReleaseManifest,
  opts: { kilnDir: string; buildOf: (cluster: string) => number; secretObjectOf?: (secret: string) => string },
): KubePlan {
  const settings = kubernetesSettingsOf(spec, env);
  const envSpec = spec.environments[env]!;
  const missing = Object.entries(release.services).filter(([, s]) => !s.image).map(([n]) => n);
  if (missing.length) {
    throw new KilnError('DEPLOY_FAILED', `${release.name} has no image for ${missing.join(', ')}, and environment ${env} runs kubernetes`, {
      hint: 'give each service an os: base in kiln.yaml, run `kiln os build <base>`, then `kiln release create`',
    });
  }
  const roles = Object.entries(release.services).flatMap(([service, svc]) =>
    Object.keys(svc.roles).map((role) => ({ service, role, cluster: clusterName(service, role, env) })),
  );
  const clusterUrls: Record<string, string> = {};
  for (const r of roles) {
    if (release.services[r.service]!.roles[r.role]!.port !== undefined) clusterUrls[`${r.service}-${r.role}`] = clusterServiceUrl(r.cluster, settings.namespace);
  }
  const secretObjectOf = opts.secretObjectOf ?? ((name: string) => secretObjectName(env, name));
  const clusters = roles.map(({ service, role, cluster }): KubeClusterPlan => {
    const svc = release.services[service]!;
    const r = svc.roles[role]!;
    const args = renderServerArgs(
      layersOf(release, service, role, envSpec),
      {
        env,
        release: release.name,
        clusterUrls,
        // Host paths are not used here: a pod gets its files as volumes (inPod below).
        locateStore: (store) => locateStore(spec, opts.kilnDir, env, store),
        secretFile: (name) => defaultSecretPath(opts.kilnDir)(env, name),
      },
      service,
    );
    const secrets: string[] = [];
    // What each reference is inside the pod: a fixed port, the log channel, a Secret's file.
    const inPod: PartResolver = (p) => {
      switch (p.kind) {
        case 'port':
          return String(CONTAINER_PORT);
        case 'log-file':
          return POD_PATHS.logFile;
        case 'secret':
          secrets.push(p.name);
          return `${POD_PATHS.secrets}/${p.name}`;
        case 'store':
          // A pod has no host file to share with its siblings: SQLite cannot be a Kubernetes store.
          throw new KilnError('SPEC_INVALID', `data store "${p.name}" is SQLite in environment ${env}, which runs on kubernetes`, {
            location: { file: spec.file },
            hint: `bind it to PostgreSQL: environments.${env}.data.${p.name}: { engine: postgres, url: "\${secret.<name>}" }`,
          });
      }
    };
    const podArgs = argv(args, inPod);
    const build = opts.buildOf(cluster);
    const group = serverGroupName(cluster, build);
    const replicas = envSpec.scale[service]?.[role] ?? r.replicas;
    const { image, pullPolicy } = imageReference(spec.project, svc.image!.digest, settings);
    const ids = { project: spec.project, env, cluster, group, release: release.name };
    const objects: KubeObject[] = [
      groupDeployment({
        ...ids,
        replicas,
        image,
        imagePullPolicy: pullPolicy,
        run: svc.run,
        args: podArgs,
        ...(r.port !== undefined ? { portName: r.port } : {}),
        ...(r.health ? { health: r.health } : {}),
        secrets,
        secretObject: secretObjectOf,
      }, settings),
    ];
    if (r.port !== undefined) {
      checkServiceName(cluster, 'cluster');
      objects.push(previewService({ ...ids, portName: r.port }, settings), clusterService({ ...ids, portName: r.port }, settings));
    }
    return { cluster, service, role, group, build, replicas, secrets: [...new Set(secrets)].sort(), objects };
  });
  return { project: spec.project, env, release: release.name, namespace: settings.namespace, clusters };
}
