// Settings of one Kubernetes environment (kiln.yaml `environments.<env>.kubernetes`), passed in,
// never guessed: where the cluster is, which namespace Kiln owns there, where images go. One
// shape with the spec's (spec/types.ts KubernetesEnvSpec).
import type { KubernetesEnvSpec } from '../../spec/types.js';

export type KubernetesSettings = KubernetesEnvSpec;

export const DEFAULT_RUN_AS_USER = 65532;

/** The port every server listens on inside its pod: pods have their own network, so one fixed number. */
export const CONTAINER_PORT = 8080;
/** The port of every Service Kiln makes (cluster and preview): what ${cluster.<svc>-<role>.url} names. */
export const SERVICE_PORT = 80;
