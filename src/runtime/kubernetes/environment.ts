// One Kubernetes environment opened for work: its settings, an API client for its namespace,
// and the project's store paths. Everything the deployer, status and down need.
import type { ProjectSpec } from '../../spec/types.js';
import { KubeClient } from './client.js';
import { kubeconfigPath, loadKubeconfig } from './kubeconfig.js';
import { kubernetesSettingsOf } from './plan.js';
import type { KubernetesSettings } from './settings.js';

export interface KubeEnv {
  spec: ProjectSpec;
  env: string;
  settings: KubernetesSettings;
  client: KubeClient;
  kilnDir: string;
  progress: (line: string) => void;
}

export function openKubeEnv(spec: ProjectSpec, env: string, kilnDir: string, progress: (line: string) => void = () => undefined): KubeEnv {
  const settings = kubernetesSettingsOf(spec, env);
  const creds = loadKubeconfig(kubeconfigPath(settings.kubeconfig), settings.context);
  return { spec, env, settings, client: new KubeClient(creds, settings.namespace), kilnDir, progress };
}

/** Whether an environment of kiln.yaml runs on Kubernetes (the CLI then works on the cluster directly). */
export { isKubernetesEnv } from './is-kubernetes.js';
