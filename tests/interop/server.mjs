// The two processes of the interop tests besides the test runner and the browser:
// - a real IdentityServer process (startServer), the Release build of src/IdentityServer
//   (override the DLL with IDP_DLL), run in a fresh temporary directory with its own
//   SQLite database, on a free loopback port, configured entirely through ASP.NET Core
//   environment variables;
// - the relying party's redirect endpoint (startCallbackListener): a small HTTP server
//   that answers GET /callback and reports the URL the browser was sent to.

import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

export const defaultDll = join(repoRoot, 'src', 'IdentityServer', 'bin', 'Release', 'net10.0', 'IdentityServer.dll');

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** A loopback TCP port that was free a moment ago. */
export async function freePort() {
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

/**
 * The relying party's redirect endpoint, on a free loopback port. `nextCallback()`
 * resolves with the full URL of the next request to the callback path; call it before
 * the browser is sent on its way so that no callback is missed.
 *
 * A real listener rather than Playwright's page.route: with Debian's Chromium, route
 * interception did not reliably catch the 302 from the authorization endpoint to an
 * unserved port (the navigation failed with ERR_CONNECTION_REFUSED).
 */
export async function startCallbackListener(path = '/callback') {
  const callbacks = new EventEmitter();
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (req.method !== 'GET' || url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end('<!doctype html><title>Interop RP</title><p>Callback received.</p>');
    callbacks.emit('callback', url.href);
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const redirectUri = `http://127.0.0.1:${server.address().port}${path}`;

  return {
    redirectUri,
    async nextCallback(timeoutMs = 15_000) {
      const [url] = await once(callbacks, 'callback', { signal: AbortSignal.timeout(timeoutMs) });
      return url;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

/** A client secret with 256 bits of entropy (43 base64url characters). */
export function randomSecret() {
  return randomBytes(32).toString('base64url');
}

/**
 * The fixed interop configuration: a confidential web client (code + PKCE + consent),
 * a service client (client_credentials), a public device client (RFC 8628, polling
 * interval 1 s to keep the tests quick), one API scope and one user.
 */
export function interopSettings(redirectUri, { postLogoutRedirectUri, backChannelLogoutUri } = {}) {
  return {
    web: {
      clientId: 'interop-web',
      clientSecret: randomSecret(),
      displayName: 'Interop Web',
      redirectUri,
      postLogoutRedirectUri,
      backChannelLogoutUri,
      scopes: ['openid', 'profile', 'email', 'offline_access', 'api1'],
    },
    service: {
      clientId: 'interop-service',
      clientSecret: randomSecret(),
      scopes: ['api1'],
    },
    device: {
      clientId: 'interop-cli',
      displayName: 'Interop CLI',
      scopes: ['openid', 'profile', 'offline_access', 'api1'],
      pollingIntervalSeconds: 1,
    },
    api: {
      scope: 'api1',
      displayName: 'Interop API',
      audience: 'https://api.interop.test',
    },
    user: {
      userName: 'alice',
      email: 'alice@example.test',
      password: 'correct horse battery staple',
    },
    // Their own accounts for the two-step and passkey browser tests, which change them.
    totpUser: { userName: 'bob', email: 'bob@example.test', password: 'bob correct horse battery' },
    admin: { userName: 'root', email: 'root@example.test', password: 'root correct horse battery' },
    // One account per passkey test: adding a second factor to an account that has one needs a multi-factor session.
    passkeyUsers: ['carol', 'dave', 'erin', 'frank', 'gina']
      .map((name) => ({ userName: name, email: `${name}@example.test`, password: `${name} correct horse battery` })),
  };
}

function serverEnvironment({ issuer, dataDir, settings }) {
  const { web, service, device, api, user, totpUser, admin, passkeyUsers } = settings;
  const config = {
    ASPNETCORE_ENVIRONMENT: 'Production',
    DOTNET_NOLOGO: '1',
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    IdentityServer__Issuer: issuer,
    IdentityServer__Database__Provider: 'Sqlite',
    IdentityServer__Database__ConnectionString: `Data Source=${join(dataDir, 'idp.db')}`,

    IdentityServer__Clients__0__ClientId: web.clientId,
    IdentityServer__Clients__0__ClientSecret: web.clientSecret,
    IdentityServer__Clients__0__DisplayName: web.displayName,
    IdentityServer__Clients__0__RedirectUris__0: web.redirectUri,
    IdentityServer__Clients__0__GrantTypes__0: 'authorization_code',
    IdentityServer__Clients__0__GrantTypes__1: 'refresh_token',
    IdentityServer__Clients__0__RequireConsent: 'true',

    IdentityServer__Clients__1__ClientId: service.clientId,
    IdentityServer__Clients__1__ClientSecret: service.clientSecret,
    IdentityServer__Clients__1__GrantTypes__0: 'client_credentials',

    IdentityServer__Clients__2__ClientId: device.clientId,
    IdentityServer__Clients__2__DisplayName: device.displayName,
    IdentityServer__Clients__2__GrantTypes__0: 'urn:ietf:params:oauth:grant-type:device_code',
    IdentityServer__Clients__2__GrantTypes__1: 'refresh_token',
    IdentityServer__DeviceFlow__PollingIntervalSeconds: String(device.pollingIntervalSeconds),

    IdentityServer__ApiScopes__0__Name: api.scope,
    IdentityServer__ApiScopes__0__DisplayName: api.displayName,
    IdentityServer__ApiScopes__0__Audience: api.audience,

    IdentityServer__Users__0__UserName: user.userName,
    IdentityServer__Users__0__Email: user.email,
    IdentityServer__Users__0__Password: user.password,
    IdentityServer__Users__1__UserName: totpUser.userName,
    IdentityServer__Users__1__Email: totpUser.email,
    IdentityServer__Users__1__Password: totpUser.password,
  };
  const adminIndex = passkeyUsers.length + 2;
  config[`IdentityServer__Users__${adminIndex}__UserName`] = admin.userName;
  config[`IdentityServer__Users__${adminIndex}__Email`] = admin.email;
  config[`IdentityServer__Users__${adminIndex}__Password`] = admin.password;
  config[`IdentityServer__Users__${adminIndex}__Roles__0`] = 'admin';
  passkeyUsers.forEach((u, i) => {
    config[`IdentityServer__Users__${i + 2}__UserName`] = u.userName;
    config[`IdentityServer__Users__${i + 2}__Email`] = u.email;
    config[`IdentityServer__Users__${i + 2}__Password`] = u.password;
  });
  web.scopes.forEach((scope, i) => { config[`IdentityServer__Clients__0__Scopes__${i}`] = scope; });
  if (web.postLogoutRedirectUri) config.IdentityServer__Clients__0__PostLogoutRedirectUris__0 = web.postLogoutRedirectUri;
  if (web.backChannelLogoutUri) config.IdentityServer__Clients__0__BackChannelLogoutUri = web.backChannelLogoutUri;
  service.scopes.forEach((scope, i) => { config[`IdentityServer__Clients__1__Scopes__${i}`] = scope; });
  device.scopes.forEach((scope, i) => { config[`IdentityServer__Clients__2__Scopes__${i}`] = scope; });

  // Inherit PATH, HOME, DOTNET_ROOT and the like, but no stray IdentityServer settings.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('identityserver__')),
  );
  return { ...inherited, ...config };
}

/**
 * Starts the server, with `redirectUri` registered for the web client (a placeholder when
 * the caller has no callback listener), on `host` (use 'localhost' for passkeys: WebAuthn
 * refuses IP addresses as relying-party IDs), and resolves once
 * its discovery document answers 200. Returns { issuer, settings, output(), stop() }.
 */
export async function startServer({
  redirectUri = 'http://127.0.0.1/callback', host = '127.0.0.1', postLogoutRedirectUri, backChannelLogoutUri,
} = {}) {
  const dll = process.env.IDP_DLL || defaultDll;
  if (!existsSync(dll)) {
    throw new Error(`IdentityServer.dll not found at ${dll}: build it first ` +
      '(dotnet build IdentityServer.sln -c Release) or set IDP_DLL.');
  }

  const port = await freePort();
  const issuer = `http://${host}:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-interop-'));
  const settings = interopSettings(redirectUri, { postLogoutRedirectUri, backChannelLogoutUri });

  const child = spawn('dotnet', [dll, '--urls', issuer], {
    cwd: dataDir,
    env: serverEnvironment({ issuer, dataDir, settings }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { log += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { log += chunk; });
  let exited = null;
  const exitPromise = new Promise((resolveExit) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit(exited);
    });
  });
  child.on('error', (err) => { log += `\n[spawn error] ${err.message}\n`; });

  const output = () => log;

  async function stop() {
    if (exited === null) {
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exitPromise.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await exitPromise;
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }

  const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited !== null) {
      lastProblem = `process exited (code ${exited.code}, signal ${exited.signal})`;
      break;
    }
    try {
      const response = await fetch(discoveryUrl, { signal: AbortSignal.timeout(5_000) });
      if (response.status === 200) {
        await response.body?.cancel();
        return { issuer, settings, output, stop };
      }
      lastProblem = `GET ${discoveryUrl} answered ${response.status}: ${(await response.text()).slice(0, 500)}`;
    } catch (err) {
      lastProblem = `GET ${discoveryUrl} failed: ${err.cause?.code ?? err.message}`;
    }
    await sleep(250);
  }

  await stop();
  throw new Error(`IdentityServer did not start: ${lastProblem}\n` +
    `--- server output (${dll}) ---\n${log}\n--- end of server output ---`);
}
