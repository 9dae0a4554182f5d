// Browser test of the admin UI: an admin (who, in Production, must sign in with a second
// factor) creates a confidential client in the UI, copies its secret from the page, and
// that client immediately obtains a client-credentials token through openid-client.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as jose from 'jose';
import * as client from 'openid-client';
import * as OTPAuth from 'otpauth';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH, describeBrowser, discover } from './helpers.mjs';
import { startServer } from './server.mjs';

describe('admin UI in Chromium against a real IdentityServer', () => {
  let server;
  let issuer;
  let settings;
  let browser;

  before(async () => {
    server = await startServer();
    ({ issuer, settings } = server);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  }, { timeout: 90_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('an admin creates a confidential client; it gets a client-credentials token at once', async () => {
    const { admin, api } = settings;
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(15_000);
    try {
      const signIn = async (returnUrl) => {
        await page.goto(`${issuer}/account/login?ReturnUrl=${encodeURIComponent(returnUrl)}`);
        await page.locator('input[name="Input.UserName"]').fill(admin.userName);
        await page.locator('input[name="Input.Password"]').fill(admin.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      };

      // Production requires a second factor for the admin UI: a password-only session is turned away.
      await signIn('/admin');
      await page.getByRole('heading', { name: 'Two-step verification required' }).waitFor();

      // Set up an authenticator app, then sign in again with the password and a code.
      await page.goto(`${issuer}/account/two-factor?setup=true`);
      const key = (await page.locator('#shared-key').innerText()).replaceAll(' ', '').toUpperCase();
      const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(key), digits: 6, period: 30, algorithm: 'SHA1' });
      await page.locator('input[name="Code"]').fill(totp.generate());
      await page.getByRole('button', { name: 'Turn on', exact: true }).click();
      await page.locator('#recovery-codes').waitFor();
      await signIn('/admin/clients/edit');
      await page.locator('input[autocomplete="one-time-code"]').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();

      // The new-client form.
      await page.locator('#NewClientId').fill('ui-service');
      await page.locator('#DisplayName').fill('Made in the admin UI');
      await page.getByLabel('client_credentials').check();
      await page.getByLabel(api.scope, { exact: true }).check();
      await page.getByRole('button', { name: 'Create client', exact: true }).click();
      const secret = (await page.locator('#client-secret').innerText()).trim();
      assert.equal(secret.length, 43, 'a 256-bit secret, shown once');

      const config = await discover(issuer, 'ui-service', secret, client.ClientSecretBasic(secret));
      const tokens = await client.clientCredentialsGrant(config, { scope: api.scope });
      const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
      const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, audience: api.audience, typ: 'at+jwt' });
      assert.equal(payload.client_id, 'ui-service');

      // The client list shows it, and the audit log has the creation by this admin.
      await page.goto(`${issuer}/admin/clients?Search=ui-serv`);
      assert.equal(await page.locator('#client-list tr[data-client="ui-service"]').count(), 1);
      await page.goto(`${issuer}/admin/audit?Event=client.created`);
      assert.match(await page.locator('#audit-list').innerText(), /ui-service/);
      assert.doesNotMatch(await page.content(), new RegExp(secret), 'the secret appears nowhere after creation');
    } catch (err) {
      throw await describeBrowser(err, page);
    }
  }, { timeout: 90_000 });
});
