// What `kiln release diff` looks up in the store beyond the two manifests: the OS tags' bills of
// materials (package changes) and the changelog entries between two heads.
import type { ProjectSpec } from '../spec/types.js';
import type { Store } from '../store/init.js';
import { resolveTag } from '../streams/app/tags.js';
import { changelogOf } from '../streams/data/index.js';
import { diffBom, osTagSource, readBom } from '../streams/os/index.js';
import type { DiffSources } from './diff.js';

export function diffSources(store: Store, spec: ProjectSpec): DiffSources {
  const bomOf = (ref: string) => {
    const i = ref.lastIndexOf(':');
    return readBom(store.oci, osTagSource(resolveTag(store.db, ref.slice(0, i), ref.slice(i + 1))).bom);
  };
  return {
    appRevision: (stream, tag) => {
      try {
        return resolveTag(store.db, stream, tag).source.revision;
      } catch {
        return undefined;
      }
    },
    osPackages: (from, to) => {
      try {
        return diffBom(bomOf(from), bomOf(to));
      } catch {
        return null; // a tag or its bill of materials is gone: the tags still say what changed
      }
    },
    changelogEntries: (store, from, to) =>
      changelogOf(spec, store).entries.filter((e) => e.position > from && e.position <= to).map((e) => e.name),
  };
}
