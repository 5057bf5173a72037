// Where Debian packages come from: the kiln.yaml `mirror`, else the machine's own apt sources
// read at run time (/etc/apt/sources.list.d/*.sources in deb822 form, /etc/apt/sources.list in
// one-line form). No mirror host is ever written in Kiln itself.
//
// The mirror's package set is identified cheaply by its InRelease/Release file: it lists the
// hash of every Packages index, so an unchanged Release means unchanged packages. That hash is
// part of an OS build's cache key; fetching it is also the early, clear check that a mirror is
// reachable and has the suite, before mmdebstrap runs.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { KilnError } from '../../errors.js';
import type { DebianOsSpec } from '../../spec/types.js';

export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
}

/** deb822 stanzas and one-line entries of type "deb", in file order. */
export function readAptSources(aptDir = '/etc/apt'): Array<{ uris: string[]; suites: string[]; components: string[] }> {
  const out: Array<{ uris: string[]; suites: string[]; components: string[] }> = [];
  const list = path.join(aptDir, 'sources.list');
  if (fs.existsSync(list)) {
    for (const raw of fs.readFileSync(list, 'utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      // deb [options] uri suite component...
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
      if (m) out.push({ uris: [m[1] as string], suites: [m[2] as string], components: (m[3] as string).split(/\s+/).filter(Boolean) });
    }
  }
  const dir = path.join(aptDir, 'sources.list.d');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.sources')).sort() : [];
  for (const f of files) {
    for (const stanza of fs.readFileSync(path.join(dir, f), 'utf8').split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const l of stanza.split('\n')) {
        if (l.startsWith('#')) continue;
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(l);
        if (m) fields.set((m[1] as string).toLowerCase(), (m[2] as string).trim());
      }
      if (fields.get('enabled') === 'no') continue;
      if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
      const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
      out.push({ uris: words('uris'), suites: words('suites'), components: words('components') });
    }
  }
  return out;
}

/**
 * The sources an OS base is built from. With `mirror`: that mirror, the spec's suite and
 * components. Without: every machine source serving the suite or its updates/security suites
 * (`<suite>-updates`, `<suite>-security`), so the base is at the machine's patch level.
 */
export function resolveSources(spec: DebianOsSpec, where: string, aptDir = '/etc/apt'): AptSource[] {
  if (spec.mirror) return [{ uri: spec.mirror.replace(/\/+$/, ''), suite: spec.suite, components: spec.components }];
  const out: AptSource[] = [];
  for (const s of readAptSources(aptDir)) {
    for (const suite of s.suites) {
      if (suite !== spec.suite && !suite.startsWith(spec.suite + '-')) continue;
      for (const uri of s.uris) out.push({ uri: uri.replace(/\/+$/, ''), suite, components: spec.components });
    }
  }
  if (!out.some((s) => s.suite === spec.suite)) {
    throw new KilnError('MIRROR_UNREACHABLE', `${where}: no mirror configured and ${aptDir} has no apt source for suite "${spec.suite}"`, {
      hint: `set ${where}.mirror to a Debian mirror URL, or add a "deb" source for ${spec.suite} to the machine's apt sources`,
    });
  }
  return out;
}

/** "deb <uri> <suite> <components>" lines, as mmdebstrap takes them. */
export function sourceLines(sources: AptSource[]): string[] {
  return sources.map((s) => `deb ${s.uri} ${s.suite} ${s.components.join(' ')}`);
}

/** sha256 of the suite's InRelease (or Release) file; MIRROR_UNREACHABLE names the URL. */
export async function releaseHash(src: AptSource, where: string, timeoutMs = 15_000): Promise<string> {
  const base = `${src.uri}/dists/${src.suite}`;
  const hint = `check the mirror URL (${where}) and the network; the suite must exist on the mirror`;
  let lastWhy = '';
  for (const file of ['InRelease', 'Release']) {
    const url = `${base}/${file}`;
    try {
      let body: Buffer;
      if (url.startsWith('file://')) {
        body = fs.readFileSync(new URL(url));
      } else {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) {
          lastWhy = `${url} answered HTTP ${res.status}`;
          continue;
        }
        body = Buffer.from(await res.arrayBuffer());
      }
      return crypto.createHash('sha256').update(body).digest('hex');
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? (err as NodeJS.ErrnoException).code ?? err.message;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        lastWhy = `${url} does not exist`;
        continue;
      }
      throw new KilnError('MIRROR_UNREACHABLE', `${where}: mirror ${src.uri} is unreachable (${why} fetching ${url})`, { hint });
    }
  }
  throw new KilnError('MIRROR_UNREACHABLE', `${where}: mirror ${src.uri} has no suite "${src.suite}" (${lastWhy})`, { hint });
}
