// Where `kiln app tag` runs a service's build command. A service with an OS base that runs on
// podman somewhere is built inside its newest OS tag's image, so native modules and generated
// files match the containers that will run them; otherwise (or with `app.build-in: host`) the
// build runs on this host.
import type { ProjectSpec } from '../../spec/types.js';
import type { Store } from '../../store/init.js';
import { listTags } from '../../streams/app/tags.js';
import type { BuildOptions } from '../../streams/app/build.js';
import { buildInImageCommand, podmanEnv, removeBuildContainerCommand } from './commands.js';
import { PodmanRuntime } from './podman-runtime.js';
import { settingsFromEnv } from './settings.js';

export async function buildEnvironmentFor(store: Store, spec: ProjectSpec, service: string): Promise<BuildOptions['buildIn']> {
  const svc = spec.services[service];
  // build-in: host — the build's tools are not in the OS image, or its native modules are for the host's Node.
  if (!svc?.os || !svc.app.build?.length || svc.app.buildIn === 'host') return undefined;
  const env = Object.values(spec.environments).find((e) => e.runtime === 'podman');
  if (!env) return undefined;
  const osTag = listTags(store.db, `os/${svc.os}`).at(-1);
  if (!osTag) return undefined;
  const settings = settingsFromEnv(env.podman);
  const runtime = new PodmanRuntime({ settings, store: store.kilnDir });
  const image = { layout: store.oci.dir, ref: `${osTag.stream}:${osTag.tag}`, digest: osTag.manifestDigest as `sha256:${string}` };
  await runtime.ensureImage(spec.project, image);
  const imageName = runtime.imageRef(spec.project, image);
  return {
    describe: `${osTag.stream}:${osTag.tag}`,
    wrap: (argv, dir, buildEnv, scratch) => {
      // Recorded before it runs: a kill -9 of this kiln leaves a container the sweep can name.
      const name = `kiln-${scratch.name}`;
      scratch.cleanupCommand({ ...removeBuildContainerCommand(settings, name), ...(settings.containersConf ? { env: { CONTAINERS_CONF: settings.containersConf } } : {}) });
      return { ...buildInImageCommand(settings, imageName, argv, dir, { name, scratch: scratch.name }, buildEnv), env: podmanEnv(settings) };
    },
  };
}
