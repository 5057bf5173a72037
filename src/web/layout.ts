// The frame of every dashboard page: title, navigation, the logout form, the stylesheet and the
// one script module (no inline script or style: the Content-Security-Policy forbids both).
import { html, type Html, type HtmlValue } from './html.js';
import type { Session } from './session.js';

export interface PageOptions {
  title: string;
  project: string;
  session: Session | null;
  body: HtmlValue;
  /** For the script: the environment whose live stream the page follows. */
  liveEnv?: string;
}

export function page(o: PageOptions): Html {
  const nav = o.session
    ? html`<nav aria-label="main"><a href="/ui/">Environments</a> <a href="/ui/releases">Releases</a> <a href="/ui/logs">Logs</a>
<form method="post" action="/ui/logout" class="inline"><input type="hidden" name="csrf" value="${o.session.csrf}"><button type="submit">Log out</button></form></nav>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · ${o.project} · Kiln</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head><body${o.liveEnv !== undefined ? html` data-live-env="${o.liveEnv}"` : ''}>
<header><a class="brand" href="/ui/">Kiln · ${o.project}</a>${nav}</header>
<main id="main">
<h1>${o.title}</h1>
${o.body}
</main></body></html>`;
}

/** A state word with its class (colours come from app.css). */
export function badge(state: string): Html {
  return html`<span class="state state-${state.replace(/[^a-z-]/g, '')}">${state}</span>`;
}
