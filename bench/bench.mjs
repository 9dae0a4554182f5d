// Throughput benchmark of the token endpoint: starts the Release server on a fresh SQLite database, drives
// `client_credentials` (RS256 JWT access tokens) with autocannon after a warm-up, and prints requests per second,
// latency percentiles, errors and the server's resident memory. A benchmark, never a test: it asserts no speed.
//
//   node bench.mjs [--duration 20] [--warmup 5] [--connections 32] [--dll path/to/IdentityServer.dll]
//
// Run it through ./bench/run.sh, which installs autocannon and builds the Release server first.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    dll: { type: 'string', default: join(repoRoot, 'src', 'IdentityServer', 'bin', 'Release', 'net10.0', 'IdentityServer.dll') },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);

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
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

/** Starts the server with one confidential client allowed client_credentials on one API scope. */
async function startServer(dll) {
  if (!existsSync(dll)) throw new Error(`${dll} not found: build the Release server first (./bench/run.sh does)`);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
  const client = { id: 'bench-service', secret: randomBytes(32).toString('base64url'), scope: 'bench.api' };
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('identityserver__')));
  const started = performance.now();
  const child = spawn('dotnet', [dll, '--urls', issuer], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      ASPNETCORE_ENVIRONMENT: 'Production',
      DOTNET_NOLOGO: '1',
      Logging__LogLevel__Default: 'Warning',
      IdentityServer__Issuer: issuer,
      IdentityServer__Database__ConnectionString: `Data Source=${join(dataDir, 'idp.db')}`,
      IdentityServer__ApiScopes__0__Name: client.scope,
      IdentityServer__ApiScopes__0__Audience: 'https://bench.example',
      IdentityServer__Clients__0__ClientId: client.id,
      IdentityServer__Clients__0__ClientSecret: client.secret,
      IdentityServer__Clients__0__GrantTypes__0: 'client_credentials',
      IdentityServer__Clients__0__Scopes__0: client.scope,
    },
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { log += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { log += c; });
  const exited = new Promise((r) => child.on('exit', r));

  const tokenRequest = {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=client_credentials&scope=${client.scope}`,
  };
  // Ready when the first token is issued: that also measures process start to first token.
  const deadline = Date.now() + 60_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`server did not issue a token within 60 s:\n${log}`); }
    try {
      const r = await fetch(`${issuer}/connect/token`, tokenRequest);
      if (r.status === 200) { await r.text(); break; }
      await r.text();
    } catch { /* not listening yet */ }
    await sleep(20);
  }
  const firstTokenMs = performance.now() - started;
  return {
    issuer, pid: child.pid, tokenRequest, firstTokenMs,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One autocannon run; resolves with its result. */
function load(url, request, seconds) {
  return new Promise((resolveRun, reject) => {
    autocannon({ url, connections, duration: seconds, ...request }, (err, result) => (err ? reject(err) : resolveRun(result)));
  });
}

const server = await startServer(args.dll);
try {
  const url = `${server.issuer}/connect/token`;
  if (warmup > 0) await load(url, server.tokenRequest, warmup);
  const result = await load(url, server.tokenRequest, duration);
  const rss = rssBytes(server.pid);
  const errors = result.errors + result.non2xx + result.timeouts;
  const row = {
    scenario: 'client_credentials (RS256)',
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    errors,
    'RSS MB': Math.round(rss / 1024 / 1024),
  };
  console.log(`IdentityServer at ${server.issuer}: ${connections} connections, ${warmup} s warm-up, ${duration} s measured`);
  console.log(`process start to first token: ${Math.round(server.firstTokenMs)} ms`);
  console.table([row]);
} finally {
  await server.stop();
}
