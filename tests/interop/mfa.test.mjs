// Browser tests of two-step sign-in and passkeys through the real pages: Chromium
// (playwright-core) against a real IdentityServer process, openid-client as the relying
// party. Passkeys use Chromium's virtual authenticator (CDP WebAuthn domain: CTAP2,
// resident keys, user verification), so the server sees real WebAuthn ceremonies.
// The issuer is http://localhost:<port>: WebAuthn does not accept IP addresses as RP IDs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as client from 'openid-client';
import * as OTPAuth from 'otpauth';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH, describeBrowser, discover } from './helpers.mjs';
import { startCallbackListener, startServer } from './server.mjs';

describe('two-step sign-in and passkeys in Chromium against a real IdentityServer', () => {
  let callbacks;
  let server;
  let issuer;
  let settings;
  let config;
  let browser;

  before(async () => {
    callbacks = await startCallbackListener();
    server = await startServer({ redirectUri: callbacks.redirectUri, host: 'localhost' });
    ({ issuer, settings } = server);
    config = await discover(issuer, settings.web.clientId, settings.web.clientSecret);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  }, { timeout: 90_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await callbacks?.close();
  });

  /**
   * A new browser context and page; with `authenticator`, a virtual platform authenticator with resident keys and UV.
   * `conditional: false` makes the page see a browser without conditional UI (autofill of passkeys): the virtual
   * authenticator would otherwise answer the login page's conditional request by itself, before any click.
   */
  async function newPage({ authenticator = false, conditional = true } = {}) {
    const context = await browser.newContext();
    if (!conditional) {
      await context.addInitScript(() => {
        if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
    }
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    if (!authenticator) return { page, context };
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
        isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    return { page, context, cdp, authenticatorId };
  }

  /** Runs `action` and adds where the browser was to any failure. */
  async function inBrowser(page, action) {
    try {
      return await action();
    } catch (err) {
      const lines = server.output().split('\n');
      const serverLog = lines.flatMap((l, i) => (/^(warn|fail)/.test(l) ? [l, lines[i + 1]] : [])).slice(-16).join('\n    ');
      throw await describeBrowser(err, page, `\n  server warnings:\n    ${serverLog}`);
    }
  }

  async function passwordSignIn(page, user, returnUrl = '/account') {
    await page.goto(`${issuer}/account/login?ReturnUrl=${encodeURIComponent(returnUrl)}`);
    await page.locator('input[name="Input.UserName"]').fill(user.userName);
    await page.locator('input[name="Input.Password"]').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async function signOut(page) {
    await page.goto(`${issuer}/account/logout`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  }

  /** A fresh authorization request for the web client. */
  async function authorizationRequest() {
    const request = { codeVerifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce() };
    request.url = client.buildAuthorizationUrl(config, {
      redirect_uri: settings.web.redirectUri,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
      state: request.state,
      nonce: request.nonce,
      prompt: 'consent',
    });
    return request;
  }

  /** Redeems the callback and returns the ID token claims. */
  async function redeem(callbackUrl, request) {
    const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
      pkceCodeVerifier: request.codeVerifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true,
    });
    return tokens.claims();
  }

  it('passkey: register on the account page, then sign in with it alone inside a code flow', async () => {
    const passkeyUser = settings.passkeyUsers[0];
    const { page, cdp, authenticatorId } = await newPage({ authenticator: true, conditional: false });
    await inBrowser(page, async () => {
      await passwordSignIn(page, passkeyUser, '/account/passkeys');
      await page.locator('#passkey-name').fill('Test laptop');
      await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
      await page.locator('#passkey-list tr[data-passkey]').first().waitFor();
      assert.match(await page.locator('#passkey-list').innerText(), /Test laptop/);
      assert.match(await page.locator('#passkey-list').innerText(), /never/, 'not used to sign in yet');

      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

      await signOut(page);

      // The relying party starts a code flow; the person picks "Sign in with a passkey" and nothing else.
      const request = await authorizationRequest();
      const callback = callbacks.nextCallback(30_000);
      callback.catch(() => {});
      await page.goto(request.url.href);
      await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const claims = await redeem(await callback, request);

      assert.ok(claims.amr.includes('hwk'), `amr ${JSON.stringify(claims.amr)} names a hardware-bound key`);
      assert.ok(claims.amr.includes('mfa'), `amr ${JSON.stringify(claims.amr)} counts as multi-factor`);
      assert.ok(!claims.amr.includes('pwd'), `amr ${JSON.stringify(claims.amr)} has no password`);
      assert.equal(typeof claims.auth_time, 'number');

      // The account page now shows when it was used; rename it.
      await page.goto(`${issuer}/account/passkeys`);
      assert.doesNotMatch(await page.locator('#passkey-list').innerText(), /never/);
      await page.locator('input[aria-label="New name"]').fill('Renamed key');
      await page.getByRole('button', { name: 'Rename', exact: true }).click();
      assert.match(await page.locator('#passkey-list').innerText(), /Renamed key/);
    });
  }, { timeout: 90_000 });

  it('passkey: conditional UI on the user-name field signs in with the passkey, no click on the button', async () => {
    const passkeyUser = settings.passkeyUsers[1];
    const { page } = await newPage({ authenticator: true });
    await inBrowser(page, async () => {
      await passwordSignIn(page, passkeyUser, '/account/passkeys');
      await page.locator('#passkey-name').fill('Autofill key');
      await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
      await page.locator('tr[data-passkey]', { hasText: 'Autofill key' }).waitFor();
      await signOut(page);

      const request = await authorizationRequest();
      const callback = callbacks.nextCallback(30_000);
      callback.catch(() => {});
      // The login page asks for a passkey with mediation "conditional"; the virtual authenticator answers it.
      await page.goto(request.url.href);
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const claims = await redeem(await callback, request);
      assert.ok(claims.amr.includes('mfa') && !claims.amr.includes('pwd'), `amr ${JSON.stringify(claims.amr)}`);
    });
  }, { timeout: 90_000 });

  it('passkey: once removed on the account page, it no longer signs in', async () => {
    const passkeyUser = settings.passkeyUsers[2];
    const { page, cdp, authenticatorId } = await newPage({ authenticator: true, conditional: false });
    await inBrowser(page, async () => {
      await passwordSignIn(page, passkeyUser, '/account/passkeys');
      await page.locator('#passkey-name').fill('Short-lived');
      await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
      await page.locator('tr[data-passkey]', { hasText: 'Short-lived' }).waitFor();

      await page.locator('tr[data-passkey]', { hasText: 'Short-lived' }).getByRole('button', { name: 'Remove', exact: true }).click();
      await page.locator('.status', { hasText: 'removed' }).waitFor();
      assert.equal(await page.locator('tr[data-passkey]', { hasText: 'Short-lived' }).count(), 0);
      // The authenticator still holds the credential; the server no longer knows it.
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1);

      await signOut(page);
      await page.goto(`${issuer}/account/login`);
      await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
      await page.locator('[role="alert"]', { hasText: 'could not be used' }).waitFor();
      assert.match(new URL(page.url()).pathname, /^\/account\/login/);
      await page.goto(`${issuer}/account`);
      assert.match(new URL(page.url()).pathname, /^\/account\/login/, 'still signed out');
    });
  }, { timeout: 90_000 });

  /** Signs in with the password, adds a passkey named `name` on the account page, and signs out again. */
  async function registerPasskey(page, user, name) {
    await passwordSignIn(page, user, '/account/passkeys');
    await page.locator('#passkey-name').fill(name);
    await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
    await page.locator('tr[data-passkey]', { hasText: name }).waitFor();
    await signOut(page);
  }

  /** Presses "Sign in with a passkey" on the login page (no return URL) and waits until the home page says who is signed in. */
  async function passkeySignIn(page) {
    await page.goto(`${issuer}/account/login`);
    await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
    await page.getByText('You are signed in as').waitFor();
  }

  it('passkey: a replayed assertion, sent again with the copied ceremony cookie, is refused', async () => {
    const passkeyUser = settings.passkeyUsers[3];
    const { page } = await newPage({ authenticator: true, conditional: false });
    await inBrowser(page, async () => {
      await registerPasskey(page, passkeyUser, 'Replay key');

      // Capture the sign-in POST exactly as the browser sent it: body, antiforgery and ceremony-state cookies.
      let captured;
      page.on('request', (request) => {
        if (request.method() === 'POST' && request.url().includes('handler=Passkey')) {
          captured = request.allHeaders().then((headers) => ({ url: request.url(), body: request.postData(), headers }));
        }
      });
      await passkeySignIn(page);
      const original = await captured;
      assert.ok(original?.headers.cookie, 'the sign-in request was captured with its cookies');

      const replay = await fetch(original.url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': original.headers['content-type'], cookie: original.headers.cookie },
        body: original.body,
      });
      assert.equal(replay.status, 200, 'the login page again, not a redirect into a session');
      assert.ok(!replay.headers.getSetCookie().some((c) => c.startsWith('idsrv=')), 'no session cookie for the replay');
      // Chromium's virtual authenticator counts signatures, so the stored counter already refuses the copy; for
      // counter-less (synced) passkeys the consumed-challenge check does (see PasskeyTests in the .NET tests).
      assert.match(await replay.text(), /The passkey request expired|could not be used/);
      assert.match(server.output(), /already used \(replay\)|signature counter did not grow/);
    });
  }, { timeout: 90_000 });

  it('passkey: an authenticator whose signature counter went back (a clone) is refused, and the server logs it', async () => {
    const passkeyUser = settings.passkeyUsers[4];
    const { page, cdp, authenticatorId } = await newPage({ authenticator: true, conditional: false });
    await inBrowser(page, async () => {
      await registerPasskey(page, passkeyUser, 'Cloned key');
      await passkeySignIn(page);
      await signOut(page);

      // Put the same key back with its counter reset, as a copy of the authenticator would have it.
      const { credentials: [credential] } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.ok(credential.signCount > 0, `the authenticator counts signatures (${credential.signCount})`);
      await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential.credentialId });
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, signCount: 0 } });

      await page.goto(`${issuer}/account/login`);
      await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
      await page.locator('[role="alert"]', { hasText: 'could not be used' }).waitFor();
      assert.match(server.output(), /signature counter did not grow/);
    });
  }, { timeout: 90_000 });

  it('TOTP: set up through the account page, then the code flow asks for the code after the password', async () => {
    const { totpUser } = settings;
    const { page } = await newPage();
    await inBrowser(page, async () => {
      await passwordSignIn(page, totpUser, '/account/two-factor?setup=true');
      const key = (await page.locator('#shared-key').innerText()).replaceAll(' ', '').toUpperCase();
      const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(key), digits: 6, period: 30, algorithm: 'SHA1' });
      assert.equal(await page.locator('img#qr').getAttribute('alt'), 'QR code of your authenticator key');

      await page.locator('input[name="Code"]').fill(totp.generate());
      await page.getByRole('button', { name: 'Turn on', exact: true }).click();
      assert.equal(await page.locator('#recovery-codes li').count(), 10);
      await signOut(page);

      const request = await authorizationRequest();
      const callback = callbacks.nextCallback(30_000);
      callback.catch(() => {});
      await page.goto(request.url.href);
      await page.locator('input[name="Input.UserName"]').fill(totpUser.userName);
      await page.locator('input[name="Input.Password"]').fill(totpUser.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();

      const codeInput = page.locator('input[autocomplete="one-time-code"]');
      // The set-up used this time step's code; the next step's code is within the accepted ±1 window.
      await codeInput.fill(totp.generate({ timestamp: Date.now() + 30_000 }));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const claims = await redeem(await callback, request);
      assert.deepEqual([...claims.amr].sort(), ['mfa', 'otp', 'pwd']);
    });
  }, { timeout: 90_000 });
});
