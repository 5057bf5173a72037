// The login form: the API token is typed here once and sent in a POST body (never a URL, so no
// history, log or Referer carries it), then exchanged for a session cookie (session.ts).
import { html, type Html } from '../html.js';
import { page } from '../layout.js';

export function loginPage(project: string, refused: boolean): Html {
  return page({
    title: 'Log in',
    project,
    session: null,
    body: html`${refused ? html`<p class="error" role="alert">That token is not this control plane's token.</p>` : ''}
<form method="post" action="/ui/login" class="login">
<label for="token">API token <small>(the contents of .kiln/run/token)</small></label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Log in</button>
</form>`,
  });
}
