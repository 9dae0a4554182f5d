// Logout through a real browser: RP-Initiated Logout 1.0 (end_session_endpoint, built by
// openid-client's buildEndSessionUrl) and Back-Channel Logout 1.0 (the relying party's
// back-channel endpoint is a real listener here, and the logout token is validated with jose).

import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import * as jose from 'jose';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH, describeBrowser, discover } from './helpers.mjs';
import { startCallbackListener, startServer } from './server.mjs';

/** A relying party's back-channel logout endpoint: records each logout_token POSTed to /backchannel. */
async function startBackChannelListener() {
  const events = new EventEmitter();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c) => { body += c; }).on('end', () => {
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
      if (req.method === 'POST' && req.url === '/backchannel') events.emit('token', new URLSearchParams(body).get('logout_token'));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    uri: `http://127.0.0.1:${server.address().port}/backchannel`,
    next: (timeoutMs = 15_000) => once(events, 'token', { signal: AbortSignal.timeout(timeoutMs) }).then(([t]) => t),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('logout in Chromium against a real IdentityServer', () => {
  let callbacks;
  let signedOut;
  let backChannel;
  let server;
  let issuer;
  let settings;
  let config;
  let browser;

  before(async () => {
    callbacks = await startCallbackListener();
    signedOut = await startCallbackListener('/signed-out');
    backChannel = await startBackChannelListener();
    server = await startServer({
      redirectUri: callbacks.redirectUri, postLogoutRedirectUri: signedOut.redirectUri, backChannelLogoutUri: backChannel.uri,
    });
    ({ issuer, settings } = server);
    config = await discover(issuer, settings.web.clientId, settings.web.clientSecret);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  }, { timeout: 90_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all([callbacks?.close(), signedOut?.close(), backChannel?.close()]);
  });

  it('signs in, logs out through end_session_endpoint to the registered URI with state, must sign in again; back-channel token validates', async () => {
    const { web, user } = settings;
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(15_000);
    try {
      // Sign in through a code flow (with consent) and redeem the code.
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: web.redirectUri, scope: 'openid profile', state,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
      });
      const callback = callbacks.nextCallback(30_000);
      await page.goto(authorizationUrl.href);
      await page.locator('input[name="Input.UserName"]').fill(user.userName);
      await page.locator('input[name="Input.Password"]').fill(user.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const tokens = await client.authorizationCodeGrant(config, new URL(await callback), { pkceCodeVerifier: codeVerifier, expectedState: state });
      const idClaims = tokens.claims();

      // RP-initiated logout with id_token_hint, the registered post-logout URI and state.
      const logoutState = client.randomState();
      const endSessionUrl = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token, post_logout_redirect_uri: signedOut.redirectUri, state: logoutState,
      });
      assert.equal(`${endSessionUrl.origin}${endSessionUrl.pathname}`, `${issuer}/connect/endsession`);
      const landed = signedOut.nextCallback(30_000);
      const token = backChannel.next(30_000);
      await page.goto(endSessionUrl.href);
      const landedUrl = new URL(await landed);
      assert.equal(landedUrl.searchParams.get('state'), logoutState);

      // The back-channel logout token: signed by the issuer, for this client and this session.
      const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
      const { payload, protectedHeader } = await jose.jwtVerify(await token, jwks, { issuer, audience: web.clientId, typ: 'logout+jwt' });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.equal(payload.sub, idClaims.sub);
      assert.equal(payload.sid, idClaims.sid);
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.equal(payload.nonce, undefined);

      // The session is over: the next authorization request shows the login page again.
      await page.goto(authorizationUrl.href);
      await page.locator('input[name="Input.Password"]').waitFor();
    } catch (err) {
      throw await describeBrowser(err, page);
    }
  }, { timeout: 90_000 });
});
