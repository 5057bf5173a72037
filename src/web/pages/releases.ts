// Releases: the list (with a form to diff any two), one release's tags across the three streams
// (os, data, app) with its services, and the diff of two releases as `kiln release diff` prints it.
import { html, type Html } from '../html.js';
import type { ReleaseTag } from '../../server/contract.js';
import type { ReleaseDiff, ReleaseRecord, ReleaseSummary } from '../../release/index.js';
import { diffSections } from './diff.js';

function diffForm(releases: ReleaseSummary[], from?: string, to?: string): Html {
  const options = (selected: string | undefined) => releases.map((r) => html`<option value="${r.name}"${r.name === selected ? html` selected` : ''}>${r.name}</option>`);
  return html`<form method="get" action="/ui/diff" class="diff-form"><label for="from">From</label><select id="from" name="from">${options(from ?? releases.at(-2)?.name)}</select>
<label for="to">to</label><select id="to" name="to">${options(to ?? releases.at(-1)?.name)}</select><button type="submit">Diff</button></form>`;
}

export function releasesBody(releases: ReleaseSummary[]): Html {
  if (!releases.length) return html`<p class="muted">no releases yet (make one with kiln release create)</p>`;
  const rows = [...releases].reverse().map(
    (r) => html`<tr><th scope="row"><a href="/ui/releases/${r.name}">${r.name}</a></th><td><code>${r.digest.slice(0, 19)}…</code></td><td>${r.parent ?? '-'}</td><td>${r.createdAt.replace('T', ' ').slice(0, 19)}</td></tr>`,
  );
  return html`${diffForm(releases)}<table><thead><tr><th scope="col">Release</th><th scope="col">Digest</th><th scope="col">Parent</th><th scope="col">Created</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function releaseBody(r: { release: ReleaseRecord; tags: ReleaseTag[] }): Html {
  const m = r.release.manifest;
  const tags = r.tags.map((t) => html`<tr><td>${t.stream}</td><td>${t.tag}</td><td>${t.service ?? ''}</td><td><code>${t.digest ?? ''}</code></td></tr>`);
  const services = Object.entries(m.services).map(
    ([name, s]) => html`<li><strong>${name}</strong>: run <code>${s.run.join(' ')}</code>; roles ${Object.entries(s.roles).map(([role, x]) => `${role} ×${x.replicas}`).join(', ')}</li>`,
  );
  return html`<p><code>${r.release.digest}</code> · parent ${m.parent ? html`<a href="/ui/releases/${m.parent}">${m.parent}</a> (<a href="/ui/diff?from=${m.parent}&amp;to=${m.name}">diff</a>)` : '-'} · created ${m.createdAt}</p>
<h2>Tags</h2><table><thead><tr><th scope="col">Stream</th><th scope="col">Tag</th><th scope="col">Service</th><th scope="col">Digest</th></tr></thead><tbody>${tags}</tbody></table>
<h2>Services</h2><ul>${services}</ul>`;
}

export function diffBody(releases: ReleaseSummary[], d: ReleaseDiff): Html {
  const same = d.changes.length === 0 && !(d.data?.length ?? 0);
  return html`${diffForm(releases, d.from, d.to)}<section class="diff" aria-label="changes">${
    same ? html`<p>${d.from} and ${d.to} are the same</p>` : diffSections(d)
  }</section>`;
}

/** Every tag a release is made of: per service its OS tag and app tag, per store its changelog head. */
export function releaseTags(r: ReleaseRecord): ReleaseTag[] {
  const m = r.manifest;
  const tags: ReleaseTag[] = [];
  for (const [service, s] of Object.entries(m.services)) {
    if (s.image) tags.push({ stream: s.image.os.stream, tag: s.image.os.tag, digest: s.image.os.digest, service });
    tags.push({ stream: s.app.stream, tag: s.app.tag, digest: s.app.digest, service });
  }
  for (const [store, d] of Object.entries(m.data ?? {})) tags.push({ stream: `data/${store}`, tag: String(d.position).padStart(4, '0'), digest: d.checksum, service: null });
  return tags;
}
