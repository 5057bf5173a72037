// app.exclude patterns, a small subset of .gitignore that covers what builds need:
//   name        a pattern without "/" matches that name at any depth ("node_modules", "*.log")
//   dir/name    a pattern with "/" matches from the root ("/dist/cache" or "dist/cache")
//   *  ?        match within one path segment;  **  matches across segments
// A matched directory is left out with everything under it.

export function compileExcludes(patterns: string[]): (rel: string) => boolean {
  const matchers = patterns
    .map((p) => p.trim().replace(/\/+$/, ''))
    .filter((p) => p !== '')
    .map((p) => {
      const anchored = p.includes('/');
      const re = globToRegExp(p.replace(/^\/+/, ''));
      return anchored
        ? (rel: string) => re.test(rel)
        : (rel: string) => re.test(rel.slice(rel.lastIndexOf('/') + 1));
    });
  return (rel) => matchers.some((m) => m(rel));
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        re += '(?:.*/)?'; // "**/" also matches zero directories
        i++;
      } else {
        re += '.*';
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}
