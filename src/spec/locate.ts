// Finds the YAML node for a path of keys, so checks that run on the validated value (semantics.ts)
// can still point at the exact key or value in the file.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode, type Pair } from 'yaml';

export class Locator {
  constructor(private readonly doc: Document) {}

  private deref(node: unknown): YamlNode | null {
    if (isAlias(node)) return (node.resolve(this.doc) as YamlNode | undefined) ?? null;
    return (node as YamlNode | null) ?? null;
  }

  private pair(path: readonly string[]): Pair | null {
    let node = this.deref(this.doc.contents);
    let found: Pair | null = null;
    for (const key of path) {
      if (!isMap(node)) return null;
      found =
        (node.items as Pair[]).find((p) => {
          const k = this.deref(p.key);
          return isScalar(k) && String(k.value) === key;
        }) ?? null;
      if (!found) return null;
      node = this.deref(found.value);
    }
    return found;
  }

  /** The key node at `path`, or the nearest ancestor key that exists. */
  key(path: readonly string[]): YamlNode | null {
    for (let n = path.length; n > 0; n--) {
      const p = this.pair(path.slice(0, n));
      if (p) return this.deref(p.key);
    }
    return null;
  }

  /** The value node at `path` (its key when the value is empty), or the nearest ancestor's key. */
  value(path: readonly string[]): YamlNode | null {
    // A list item (`args: [a, b]`): its index is the last key.
    const last = path.at(-1);
    if (last !== undefined && /^\d+$/.test(last)) {
      const parent = this.pair(path.slice(0, -1));
      const seq = parent ? this.deref(parent.value) : null;
      const item = isSeq(seq) ? this.deref(seq.items[Number(last)]) : null;
      if (item?.range) return item;
    }
    const p = this.pair(path);
    const v = p ? this.deref(p.value) : null;
    return v?.range ? v : this.key(path);
  }
}
