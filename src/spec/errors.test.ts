// Every class of kiln.yaml problem, with the exact file:line:column a user is sent to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { only, problemsOf, yaml } from './testkit.js';

const at = (p: { line: number | undefined; column: number | undefined }) => `${p.line}:${p.column}`;

test('an unknown key is reported at the key, with the allowed keys and a suggestion', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [node, server.js] }',
      '    roles:',
      '      http:',
      '        replica: 2',
      '        port: http',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.equal(problems.length, 1);
  const p = problems[0];
  assert.ok(p);
  assert.equal(at(p), '7:9');
  assert.equal(p.message, 'unknown key "replica" in services.api.roles.http');
  assert.equal(p.hint, 'did you mean "replicas"? allowed: replicas, port, health, flags, args, settle, strategy');
});

test('a wrong value is reported at the value, saying what is expected', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'proxy: { port: 99999 }',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: node server.js }',
      '    roles:',
      '      http: { replicas: two, port: http, health: { path: /h, interval: 5, timeout: soon } }',
      'environments:',
      '  dev: { runtime: docker }',
    ),
  );
  assert.equal(problems.length, 6);
  assert.equal(at(only(problems, /^proxy\.port must be an integer from 0 to 65535, got 99999$/)), '2:16');
  assert.equal(at(only(problems, /^services\.api\.app\.run must be a list of arguments, got "node server\.js"$/)), '5:33');
  assert.equal(at(only(problems, /^services\.api\.roles\.http\.replicas must be an integer from 0 to 1000, got "two"$/)), '7:25');
  const interval = only(problems, /health\.interval must be a duration such as 200ms, 2s or 1m, got 5$/);
  assert.equal(at(interval), '7:72');
  assert.equal(interval.hint, 'add a unit: 5ms, 5s or 5m');
  assert.equal(at(only(problems, /health\.timeout must be a duration .*, got "soon"$/)), '7:84');
  const runtime = only(problems, /^environments\.dev\.runtime must be one of process, podman, kubernetes, got "docker"$/);
  assert.equal(at(runtime), '9:19');
  assert.equal(runtime.hint, 'allowed: process, podman, kubernetes');
});

test('a missing required key is reported at the key of the object that lacks it', () => {
  const problems = problemsOf(
    yaml('project: shop', 'services:', '  api:', '    app:', '      path: apps/api', '    roles: {}', 'environments:', '  dev:'),
  );
  assert.equal(problems.length, 2);
  const run = only(problems, /^missing required key "run" in services\.api\.app$/);
  assert.equal(at(run), '4:5');
  assert.match(run.hint ?? '', /^run: Command that starts one server/);
  assert.equal(at(only(problems, /^services\.api\.roles needs at least 1 role$/)), '6:5');
});

test('a spec without services or environments says so', () => {
  const problems = problemsOf(yaml('project: shop'));
  assert.deepEqual(
    problems.map((p) => `${at(p)} ${p.message}`),
    ['1:1 missing required key "services" in the top level', '1:1 missing required key "environments" in the top level'],
  );
});

test('invalid names are reported at the name; an unformable cluster name at the environment', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  Api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { http: { port: http } }',
      '  web:',
      '    app: { path: apps/web, run: [x] }',
      '    roles: { http: { port: http } }',
      'environments:',
      '  production-environment-for-the-europe-west-region-42: {}',
    ),
  );
  assert.equal(problems.length, 2);
  assert.equal(at(only(problems, /^service name "Api" in services must be lower-case letters/)), '3:3');
  const cluster = only(problems, /cannot name the cluster of service "web", role "http"/);
  assert.equal(at(cluster), '10:3');
  assert.match(cluster.message, /name "web-http-production-environment-for-the-europe-west-region-42-v1000-1" is 69 characters, 6 over the 63-character DNS label limit/);
  assert.equal(cluster.hint, 'shorten the environment name "production-environment-for-the-europe-west-region-42"');
});

test('dangling references: OS base, health without port, scale and flags of unknown services and roles', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'os:',
      '  bookworm: { debian: { suite: bookworm } }',
      'services:',
      '  api:',
      '    os: bullseye',
      '    app: { path: apps/api, run: [x] }',
      '    roles:',
      '      http: { port: http }',
      '      worker: { health: /healthz }',
      'environments:',
      '  dev:',
      '    scale: { api: { htp: 2 }, web: { http: 1 } }',
      '    flags: { wbe: { a: 1 } }',
    ),
  );
  assert.deepEqual(
    problems.map((p) => `${at(p)} ${p.message} | ${p.hint}`),
    [
      '6:9 services.api.os names OS base "bullseye", which is not defined under os | allowed: bookworm',
      '10:17 services.api.roles.worker has a health check but no port to check | add a port (e.g. "port: http") or remove "health"',
      '13:21 environments.dev.scale.api names role "htp", which service "api" does not have | did you mean "http"? allowed: http, worker',
      '13:31 environments.dev.scale names service "web", which is not defined | allowed: api',
      '14:14 environments.dev.flags names service "wbe", which is not defined | allowed: api',
    ],
  );
});

test('flag references are checked against the known forms, services, roles and stores', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'data:',
      '  orders: { changelog: db/orders }',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles:',
      '      http: { port: http }',
      '      worker:',
      '        flags:',
      '          a: "${nope}"',
      '          b: "x ${cluster.web-http.url}"',
      '          c: "${cluster.api-worker.url}"',
      '          d: "${data.users.url}"',
      '          e: "${port"',
      '          f: "${port}"',
      '          Bad: 1',
      '    flags: { ok: "$${x} ${env} ${release} ${log.file} ${secret.k_1} ${cluster.api-http.url} ${data.orders.url}" }',
      'environments:',
      '  dev: {}',
    ),
  );
  const forms = 'known forms: ${port}, ${log.file}, ${env}, ${release}, ${cluster.<service>-<role>.url}, ${data.<store>.url}, ${secret.<name>}; write $$ for a literal $';
  assert.deepEqual(
    problems.map((p) => `${at(p)} ${p.message} | ${p.hint}`),
    [
      `11:14 services.api.roles.worker.flags.a: unknown reference "\${nope}" | ${forms}`,
      '12:14 services.api.roles.worker.flags.b: ${cluster.web-http.url} does not name a service and role ("<service>-<role>") | allowed: api-http',
      '13:14 services.api.roles.worker.flags.c: ${cluster.api-worker.url} names role "worker" of service "api", which has no port to connect to | roles with a port: api-http',
      '14:14 services.api.roles.worker.flags.d: ${data.users.url} names data store "users", which is not defined under data | allowed: orders',
      `15:14 services.api.roles.worker.flags.e: unterminated reference "\${port": missing "}" | ${forms}`,
      '16:14 services.api.roles.worker.flags.f: ${port} is used by role worker of service "api", which has no port | add a port to the role or remove the flag',
      '17:11 flag name "Bad" in services.api.roles.worker.flags must be lower-case letters, digits and dashes, starting with a letter ([a-z][a-z0-9-]*) | undefined',
    ],
  );
});

test('${port} in service-wide flags needs every role of the service to have a port', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { http: { port: http }, worker: {} }',
      '    flags: { listen: "${port}" }',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.equal(problems.length, 1);
  const p = only(problems, /^services\.api\.flags\.listen: \$\{port\} is used by role worker of service "api", which has no port$/);
  assert.equal(at(p), '6:22');
  assert.equal(p.hint, 'move the flag to the flags of the roles that have a port');
});

test('app paths must exist and stay inside the project directory', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/nope, run: [x] }',
      '    roles: { http: { port: http } }',
      '  web:',
      '    app: { path: ../outside, run: [x], output: /abs }',
      '    roles: { http: { port: http } }',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.equal(problems.length, 3);
  const missing = only(problems, /^services\.api\.app\.path "apps\/nope" does not exist \(looked for .*\/apps\/nope\)$/);
  assert.equal(at(missing), '4:18');
  assert.equal(at(only(problems, /^services\.web\.app\.path "\.\.\/outside" must stay inside the project directory/)), '7:18');
  assert.equal(at(only(problems, /^services\.web\.app\.output "\/abs" must be relative to the directory of kiln\.yaml$/)), '7:48');
});

test('two service/role pairs that would share cluster names are rejected', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  a-b:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { c: {} }',
      '  a:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { b-c: {} }',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.equal(problems.length, 1);
  const p = only(problems, /^service "a" role "b-c" gives the same cluster names \(a-b-c-<env>\) as service "a-b" role "c"$/);
  assert.equal(at(p), '8:14');
});

test('every problem in a file is reported at once, in file order', () => {
  const problems = problemsOf(
    yaml(
      'project: shop_1',
      'domian: shop.test',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { http: { port: http, replicas: -1 } }',
      'environments:',
      '  dev: { runtime: vm }',
    ),
  );
  assert.deepEqual(
    problems.map((p) => at(p)),
    ['1:10', '2:1', '6:44', '8:19'],
  );
  assert.match(problems[0]?.message ?? '', /^project "shop_1" must be lower-case/);
  assert.equal(problems[1]?.hint, 'did you mean "domain"? allowed: project, domain, proxy, dns, metrics, logs, os, data, services, environments');
});

test('a YAML syntax error is reported at its position', () => {
  const problems = problemsOf(
    yaml('project: shop', 'services:', '  api:', '    app: { path: apps/api, run: [node, server.js }', 'environments:', '  dev: {}'),
  );
  assert.ok(problems.length >= 1);
  const first = problems[0];
  assert.ok(first);
  assert.match(first.message, /^YAML syntax: /);
  assert.equal(at(first), '4:50');
});

test('a duplicate key is reported at its second occurrence, and the rest is still checked', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { http: { port: http } }',
      '    roles: { web: {} }',
      'environments:',
      '  dev: { runtime: dokcer }',
    ),
  );
  assert.deepEqual(
    problems.map((p) => `${at(p)} ${p.message}`),
    [
      '6:5 duplicate key "roles": each key may appear once in a mapping',
      '8:19 environments.dev.runtime must be one of process, podman, kubernetes, got "dokcer"',
    ],
  );
  assert.equal(problems[1]?.hint, 'allowed: process, podman, kubernetes');
});

test('an empty file and a file that is not a mapping are reported at 1:1', () => {
  assert.deepEqual(
    problemsOf('').map((p) => `${at(p)} ${p.message}`),
    ['1:1 kiln.yaml is empty'],
  );
  assert.deepEqual(
    problemsOf('- project: shop\n').map((p) => `${at(p)} ${p.message}`),
    ['1:1 the top level must be a mapping, got a list'],
  );
});

test('OS bases need exactly one of debian or import; data stores a known engine', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'os:',
      '  both: { debian: { suite: bookworm }, import: x.tar }',
      '  none: {}',
      '  bad: { debian: { suite: bookworm, mirror: ftp://x, include: [Node JS] } }',
      'data:',
      '  orders: { engine: mysql, changelog: ../db }',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { http: { port: http } }',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.deepEqual(
    problems.map((p) => `${at(p)} ${p.message}`),
    [
      '3:40 os.both has both "debian" and "import"; write exactly one',
      '4:3 os.none needs one of debian, import',
      '5:45 os.bad.debian.mirror "ftp://x" must be an http://, https:// or file:// URL',
      '5:64 os.bad.debian.include[0] "Node JS" must be a Debian name ([a-z0-9][a-z0-9+.-]*)',
      '7:21 data.orders.engine must be one of sqlite, postgres, got "mysql"',
      '7:39 data.orders.changelog "../db" must stay inside the project directory (no leading "..")',
    ],
  );
});
