// The diff of two releases across the three streams, as a page: data stores (changelog heads and
// the entries between them), then per service what changed in its app, OS tag (with the package
// changes of the two bills of materials), image, flags and roles. Each line is the one
// `kiln release diff` prints (release/diff.ts), so the page and the CLI cannot disagree.
import { html, type Html } from '../html.js';
import { describeChange, formatReleaseDiff, type ReleaseChange, type ReleaseDiff } from '../../release/index.js';

type Part = 'service' | 'app' | 'os' | 'image' | 'flags' | 'roles';

function partOf(c: ReleaseChange): Part {
  switch (c.kind) {
    case 'service-added':
    case 'service-removed':
      return 'service';
    case 'os':
    case 'os-tag':
      return 'os';
    case 'image':
      return 'image';
    case 'flag-added':
    case 'flag-removed':
    case 'flag-changed':
      return 'flags';
    case 'role-added':
    case 'role-removed':
    case 'replicas':
    case 'port':
    case 'health':
      return 'roles';
    default:
      return 'app';
  }
}

function packages(c: ReleaseChange): Html {
  if (c.kind !== 'os-tag' || !c.packages) return html``;
  const p = c.packages;
  const items = [
    ...p.added.map((x) => html`<li class="added">+ ${x.name} ${x.version}</li>`),
    ...p.removed.map((x) => html`<li class="removed">- ${x.name} ${x.version}</li>`),
    ...p.changed.map((x) => html`<li>${x.name} ${x.from} → ${x.to}</li>`),
  ];
  return items.length ? html`<ul class="packages" aria-label="package changes">${items}</ul>` : html``;
}

export function diffSections(d: ReleaseDiff): Html {
  const data = (d.data ?? []).map(
    (x) => html`<tr><th scope="row">data/${x.store}</th><td>changelog ${x.from ?? 'none'} → ${x.to ?? 'none'}</td><td>${x.entries.length ? html`<ul>${x.entries.map((e) => html`<li>${e}</li>`)}</ul>` : ''}</td></tr>`,
  );
  const services = [...new Set(d.changes.map((c) => c.service))];
  const rows = services.flatMap((s) =>
    d.changes
      .filter((c) => c.service === s)
      .map((c, i) => html`<tr data-part="${partOf(c)}">${i === 0 ? html`<th scope="row">${s}</th>` : html`<td></td>`}<td>${partOf(c)}</td><td>${describeChange(c.kind === 'os-tag' ? { ...c, packages: undefined } : c)}${packages(c)}</td></tr>`),
  );
  return html`${data.length ? html`<h2>Data</h2><table class="diff-data"><thead><tr><th scope="col">Store</th><th scope="col">Head</th><th scope="col">Entries</th></tr></thead><tbody>${data}</tbody></table>` : ''}
${rows.length ? html`<h2>Services</h2><table class="diff-services"><thead><tr><th scope="col">Service</th><th scope="col">Part</th><th scope="col">Change</th></tr></thead><tbody>${rows}</tbody></table>` : ''}
<details><summary>As the CLI prints it (kiln release diff)</summary><pre class="diff-text">${formatReleaseDiff(d)}</pre></details>`;
}
