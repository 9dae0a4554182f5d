// Side-by-side benchmark: our server (Release build; SQLite, and PostgreSQL when its binaries are installed) against
// node-oidc-provider (peer.mjs) configured for the same jobs. Every scenario runs each target in turn (interleaved rounds), with a
// warm-up before each measured run (15 s by default: .NET's tiered JIT needs that long to reach its steady state), and prints requests per second, p50, p99, errors and each server's RSS, and the ratio to the
// peer. Each server's start is timed twice, to its first token: on a new database, and again on the database the run left (restart).
// A benchmark, never a test: it asserts no speed.
//
//   node bench.mjs [--duration 10] [--warmup 15] [--connections 32] [--rounds 1] [--only cc,es256,refresh,introspect,discovery,jwks,signin]
//                  [--targets sqlite,postgres,peer]
//
// Run it through ./bench/run.sh, which installs the npm packages and builds the Release server first.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string', default: 'cc,es256,refresh,introspect,discovery,jwks,signin' },
    targets: { type: 'string', default: 'sqlite,postgres,peer' },
    dll: { type: 'string', default: join(repoRoot, 'src', 'IdentityServer', 'bin', 'Release', 'net10.0', 'IdentityServer.dll') },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const scenarios = new Set(args.only.split(','));
const wanted = new Set(args.targets.split(','));

const client = { id: 'bench-service', secret: randomBytes(32).toString('base64url') };
const scope = 'bench.api';
const redirectUri = 'https://bench.example/cb';
const basic = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
const form = 'application/x-www-form-urlencoded';

/** A loopback TCP port that was free a moment ago. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Resident set size of a process, bytes (Linux /proc). */
function rssBytes(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
}

/** Spawns a server process and waits until a client_credentials token comes back (start-to-first-token is measured). */
async function spawnServer(name, command, argv, env, origin, paths, cwd) {
  const started = performance.now();
  const child = spawn(command, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { log += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { log += c; });
  const exited = new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 90_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`${name} did not issue a token within 90 s:\n${log}`); }
    try {
      const r = await fetch(origin + paths.token, {
        method: 'POST', headers: { authorization: basic, 'content-type': form }, body: `grant_type=client_credentials&scope=${scope}`,
        signal: AbortSignal.timeout(5_000),
      });
      await r.text();
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    await sleep(20);
  }
  return {
    name, origin, paths, pid: child.pid, firstTokenMs: performance.now() - started,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
      await exited;
    },
    /** Starts the same server again, on the same database (call after stop). */
    restart: () => spawnServer(name, command, argv, env, origin, paths, cwd),
  };
}

const ourPaths = {
  token: '/connect/token', introspect: '/connect/introspect', discovery: '/.well-known/openid-configuration', jwks: '/.well-known/jwks.json',
  authorize: '/connect/authorize',
};
const peerPaths = {
  token: '/token', introspect: '/token/introspection', discovery: '/.well-known/openid-configuration', jwks: '/jwks', authorize: '/auth',
};

/** The user a sign-in worker signs in as: one per worker, since the server refuses many sign-ins of one account at once. */
const userName = (i) => (i === 0 ? 'bench-user' : `bench-user-${i}`);

/** Our Release server with one confidential client and <users> users; signing algorithm <alg>; database on <provider>. */
async function startOurs(name, provider, connectionString, alg, dataDir, users = 1) {
  if (!existsSync(args.dll)) throw new Error(`${args.dll} not found: build the Release server first (./bench/run.sh does)`);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('identityserver__')));
  return spawnServer(name, 'dotnet', [args.dll, '--urls', origin], {
    ...inherited,
    ASPNETCORE_ENVIRONMENT: 'Production',
    DOTNET_NOLOGO: '1',
    Logging__LogLevel__Default: 'Warning',
    IdentityServer__Issuer: origin,
    IdentityServer__Database__Provider: provider,
    IdentityServer__Database__ConnectionString: connectionString,
    IdentityServer__Keys__Algorithms__0: alg,
    IdentityServer__ApiScopes__0__Name: scope,
    IdentityServer__ApiScopes__0__Audience: 'https://bench.example',
    IdentityServer__Clients__0__ClientId: client.id,
    IdentityServer__Clients__0__ClientSecret: client.secret,
    IdentityServer__Clients__0__GrantTypes__0: 'client_credentials',
    IdentityServer__Clients__0__GrantTypes__1: 'authorization_code',
    IdentityServer__Clients__0__GrantTypes__2: 'refresh_token',
    IdentityServer__Clients__0__Scopes__0: scope,
    IdentityServer__Clients__0__Scopes__1: 'openid',
    IdentityServer__Clients__0__Scopes__2: 'offline_access',
    IdentityServer__Clients__0__RedirectUris__0: redirectUri,
    ...Object.fromEntries(Array.from({ length: users }, (_, i) => [
      [`IdentityServer__Users__${i}__UserName`, userName(i)], [`IdentityServer__Users__${i}__Password`, 'bench-user-password']]).flat()),
  }, origin, ourPaths, dataDir);
}

async function startPeer() {
  const port = await freePort();
  return spawnServer('node-oidc-provider', process.execPath, [join(here, 'peer.mjs'), String(port), client.id, client.secret], process.env,
    `http://127.0.0.1:${port}`, peerPaths, here);
}

/** A minimal cookie jar and redirect walker for the sign-in flows (no browser). */
class Browser {
  constructor(origin) { this.origin = origin; this.cookies = new Map(); }
  async request(url, init = {}) {
    const headers = { ...(init.headers ?? {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(new URL(url, this.origin), { ...init, headers, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(pair.slice(0, eq)); else this.cookies.set(pair.slice(0, eq), value);
    }
    return r;
  }
}

const b64url = (buf) => buf.toString('base64url');

/** One authorization code + PKCE sign-in over plain HTTP; resolves with the token response. */
async function signIn(target, user = userName(0)) {
  const browser = new Browser(target.origin);
  const verifier = b64url(randomBytes(32));
  const query = new URLSearchParams({
    client_id: client.id, response_type: 'code', redirect_uri: redirectUri, scope: `openid offline_access ${scope}`,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256', state: b64url(randomBytes(8)),
    ...(target.name === 'node-oidc-provider' ? { prompt: 'consent', resource: 'https://bench.example' } : {}),
  });
  let r = await browser.request(`${target.paths.authorize}?${query}`);
  for (let step = 0; step < 12; step++) {
    const location = r.headers.get('location');
    if (r.status >= 300 && r.status < 400 && location?.startsWith(redirectUri)) {
      await r.text();
      const code = new URL(location).searchParams.get('code');
      const token = await fetch(target.origin + target.paths.token, {
        method: 'POST', headers: { authorization: basic, 'content-type': form },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, ...(target.name === 'node-oidc-provider' ? { resource: 'https://bench.example' } : {}) }),
      });
      if (token.status !== 200) throw new Error(`code redemption: ${token.status} ${await token.text()}`);
      return token.json();
    }
    if (r.status >= 300 && r.status < 400) { await r.text(); r = await browser.request(location); continue; }
    const html = await r.text();
    const action = new URL(r.url || browser.origin).pathname;
    if (html.includes('__RequestVerificationToken')) {
      // Our login page.
      const antiforgery = /name="__RequestVerificationToken" type="hidden" value="([^"]+)"/.exec(html)?.[1] ?? /value="([^"]+)"[^>]*name="__RequestVerificationToken"/.exec(html)?.[1];
      const returnUrl = /name="ReturnUrl"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? /value="([^"]*)"[^>]*name="ReturnUrl"/.exec(html)?.[1] ?? '/';
      r = await browser.request('/account/login', {
        method: 'POST', headers: { 'content-type': form },
        body: new URLSearchParams({ 'Input.UserName': user, 'Input.Password': 'bench-user-password', __RequestVerificationToken: antiforgery, ReturnUrl: returnUrl.replaceAll('&amp;', '&') }),
      });
      continue;
    }
    const interaction = /action="([^"]*\/interaction\/[^"]+)"/.exec(html)?.[1];
    if (interaction) {
      const login = html.includes('name="login"');
      r = await browser.request(interaction, {
        method: 'POST', headers: { 'content-type': form },
        body: new URLSearchParams(login ? { prompt: 'login', login: user, password: 'x' } : { prompt: 'consent' }),
      });
      continue;
    }
    throw new Error(`sign-in stuck at ${r.status} ${action}: ${html.slice(0, 200)}`);
  }
  throw new Error('sign-in took too many steps');
}

/** One autocannon run; resolves with its result. */
function load(options) {
  return new Promise((resolveRun, reject) => {
    autocannon({ connections, ...options }, (err, result) => (err ? reject(err) : resolveRun(result)));
  });
}

/** The autocannon options of <scenario> against <target>, or null when it does not apply. */
async function scenarioOptions(scenario, target) {
  const url = target.origin;
  switch (scenario) {
    case 'cc':
    case 'es256':
      return { url: url + target.paths.token, method: 'POST', headers: { authorization: basic, 'content-type': form }, body: `grant_type=client_credentials&scope=${scope}` };
    case 'discovery': return { url: url + target.paths.discovery };
    case 'jwks': return { url: url + target.paths.jwks };
    case 'introspect': {
      // A refresh token: a stored token on both sides (node-oidc-provider does not introspect JWT access tokens).
      const { refresh_token: token } = await signIn(target);
      return { url: url + target.paths.introspect, method: 'POST', headers: { authorization: basic, 'content-type': form }, body: `token=${token}` };
    }
    case 'refresh': {
      // Rotating refresh-token chains, twice as many as connections, each from its own sign-in. A request takes a token from the
      // pool and its response puts the rotated one back (autocannon clears a connection's context after every request, so the
      // chains live here).
      const pool = [];
      for (let i = 0; i < connections * 2; i++) pool.push((await signIn(target)).refresh_token);
      return {
        url: url + target.paths.token,
        requests: [{
          method: 'POST', headers: { authorization: basic, 'content-type': form },
          setupRequest: (req) => ({ ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift() ?? '')}` }),
          onResponse: (status, body) => { if (status === 200) pool.push(JSON.parse(body).refresh_token); },
        }],
      };
    }
    default: return null;
  }
}

/** Sign-ins per second: <connections> workers running whole code + PKCE flows for <seconds>. */
async function signInLoad(target, seconds) {
  const until = Date.now() + seconds * 1000;
  const latencies = [];
  let errors = 0;
  await Promise.all(Array.from({ length: connections }, async (_, worker) => {
    while (Date.now() < until) {
      const t = performance.now();
      try { await signIn(target, userName(worker)); latencies.push(performance.now() - t); } catch { errors++; }
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (p) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]) : NaN);
  return { rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), errors };
}

const titles = {
  cc: 'client_credentials (RS256)', es256: 'client_credentials (ES256; peer RS256)', refresh: 'refresh_token (rotating)',
  introspect: 'introspection (a refresh token)', discovery: 'discovery', jwks: 'JWKS', signin: 'code + PKCE sign-ins (HTTP, no browser)',
};

// Targets: our server on SQLite (RS256; ES256 for that scenario), on PostgreSQL when available, and the peer.
const cleanups = [];
const rows = [];
try {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  let postgres = null;
  if (wanted.has('postgres')) {
    try {
      // Its own folder under the temp dir: as root, the cluster belongs to the postgres user, who cannot enter dataDir (0700).
      const pgDir = mkdtempSync(join(tmpdir(), 'idp-bench-pg-'));
      const port = execFileSync('bash', [join(repoRoot, 'scripts', 'postgres.sh'), 'freeport']).toString().trim();
      postgres = execFileSync('bash', [join(repoRoot, 'scripts', 'postgres.sh'), 'start', pgDir, port]).toString().trim();
      cleanups.unshift(() => execFileSync('bash', [join(repoRoot, 'scripts', 'postgres.sh'), 'stop', pgDir]));
    } catch (e) {
      console.log(`PostgreSQL not available (${String(e.message).split('\n')[0]}): SQLite and the peer only`);
    }
  }

  const targetsFor = async (scenario) => {
    const list = [];
    const alg = scenario === 'es256' ? 'ES256' : 'RS256';
    const users = scenario === 'signin' ? connections : 1;
    if (wanted.has('sqlite')) list.push(() => startOurs(`ours, SQLite, ${alg}`, 'Sqlite', `Data Source=${join(dataDir, `${scenario}-${Date.now()}.db`)}`, alg, dataDir, users));
    if (postgres && scenario !== 'es256') list.push(() => startOurs(`ours, PostgreSQL, ${alg}`, 'PostgreSql', `${postgres};Database=bench_${scenario}_${Date.now()}`, alg, dataDir, users));
    if (wanted.has('peer')) list.push(() => startPeer());
    return list;
  };

  console.log(`${connections} connections, ${warmup} s warm-up, ${duration} s measured, ${rounds} round(s); each server starts fresh per scenario`);
  for (const scenario of Object.keys(titles).filter((s) => scenarios.has(s))) {
    const starters = await targetsFor(scenario);
    const servers = [];
    for (const start of starters) servers.push(await start());
    try {
      const results = new Map(servers.map((s) => [s, []]));
      for (let round = 0; round < rounds; round++) {
        // Interleaved: each round runs every target once, the order turning each round.
        const order = servers.map((_, i) => servers[(i + round) % servers.length]);
        for (const server of order) {
          if (scenario === 'signin') {
            if (warmup > 0) await signInLoad(server, warmup);
            results.get(server).push(await signInLoad(server, duration));
            continue;
          }
          const options = await scenarioOptions(scenario, server);
          if (warmup > 0) await load({ ...options, duration: warmup });
          const r = await load({ ...options, duration });
          results.get(server).push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts });
        }
      }
      const peer = servers.find((s) => s.name === 'node-oidc-provider');
      const mean = (xs, f) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
      const peerRps = peer ? mean(results.get(peer), (x) => x.rps) : NaN;
      for (const server of servers) {
        const runs = results.get(server);
        const rps = mean(runs, (x) => x.rps);
        rows.push({
          scenario: titles[scenario], target: server.name, 'req/s': Math.round(rps), 'p50 ms': Math.round(mean(runs, (x) => x.p50)),
          'p99 ms': Math.round(mean(runs, (x) => x.p99)), errors: runs.reduce((a, x) => a + x.errors, 0),
          'RSS MB': Math.round(rssBytes(server.pid) / 1048576), 'first token ms': Math.round(server.firstTokenMs),
          'restart ms': '', 'vs peer': peer && server !== peer ? `${(rps / peerRps).toFixed(2)}×` : '',
        });
      }
      // Start to first token again, on the database the run left: the start an operator sees after an upgrade or a crash. (The peer
      // keeps no state, so its restart is another cold start.)
      for (const [i, server] of servers.entries()) {
        const row = rows[rows.length - servers.length + i];
        await server.stop();
        try {
          servers[i] = await server.restart();
          row['restart ms'] = Math.round(servers[i].firstTokenMs);
        } catch (e) {
          row['restart ms'] = 'failed';
          console.error(`${server.name} did not restart: ${String(e.message).split('\n')[0]}`);
        }
      }
    } finally {
      for (const s of servers) await s.stop();
    }
  }
} finally {
  for (const c of cleanups) { try { c(); } catch { /* best effort */ } }
}
console.table(rows);
console.log('node-oidc-provider keeps its state in memory (its development adapter); our server writes codes, refresh tokens and counts to its database.');
