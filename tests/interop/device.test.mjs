// Interop for the Device Authorization Grant (RFC 8628): openid-client's device functions
// (initiateDeviceAuthorization, pollDeviceAuthorizationGrant) play the CLI against a real
// IdentityServer process, while Chromium (playwright-core) is the person who opens the
// verification page on another device, signs in and approves or denies.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as jose from 'jose';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH, audiences, describeBrowser, discover } from './helpers.mjs';
import { startServer } from './server.mjs';

/**
 * The person's side in Chromium: opens verification_uri_complete, checks the code is
 * filled in, continues, signs in, checks the confirmation screen shows the client and
 * the same code, and presses `decision` ('Approve' or 'Deny'). Returns the final heading.
 */
async function approveInBrowser({ deviceResponse, user, clientName, decision }) {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  let page;
  try {
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(15_000);

    await page.goto(deviceResponse.verification_uri_complete);
    const codeInput = page.locator('input[name="user_code"]');
    assert.equal(await codeInput.inputValue(), deviceResponse.user_code, 'verification_uri_complete fills the code in');
    await page.getByRole('button', { name: 'Continue', exact: true }).click();

    await page.locator('input[name="Input.UserName"]').fill(user.userName);
    await page.locator('input[autocomplete="current-password"]').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();

    await page.locator('#user-code').waitFor();
    assert.equal((await page.locator('#user-code').innerText()).trim(), deviceResponse.user_code, 'the screen shows the code to compare');
    assert.ok((await page.locator('h1').innerText()).includes(clientName), 'the screen names the client');
    await page.getByRole('button', { name: decision, exact: true }).click();
    return (await page.locator('h1').innerText()).trim();
  } catch (err) {
    throw await describeBrowser(err, page);
  } finally {
    await browser.close();
  }
}

describe('device authorization grant: openid-client and Chromium against a real IdentityServer', () => {
  let server;
  let issuer;
  let settings;
  let config;
  let jwks;

  before(async () => {
    server = await startServer();
    ({ issuer, settings } = server);
    config = await discover(issuer, settings.device.clientId, undefined, client.None());
    jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  }, { timeout: 90_000 });

  after(async () => {
    await server?.stop();
  });

  it('discovery advertises the device authorization endpoint and grant type', () => {
    const metadata = config.serverMetadata();
    assert.equal(metadata.device_authorization_endpoint, `${issuer}/connect/deviceauthorization`);
    assert.ok(metadata.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'));
  });

  it('approve in the browser: the polling CLI receives tokens that validate', async () => {
    const { device, user, api } = settings;
    const deviceResponse = await client.initiateDeviceAuthorization(config, { scope: device.scopes.join(' ') });
    assert.match(deviceResponse.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(deviceResponse.verification_uri, `${issuer}/device`);
    assert.equal(deviceResponse.expires_in, 600);
    assert.equal(deviceResponse.interval, device.pollingIntervalSeconds);

    const polling = client.pollDeviceAuthorizationGrant(config, deviceResponse);
    polling.catch(() => {}); // awaited below
    const heading = await approveInBrowser({ deviceResponse, user, clientName: device.displayName, decision: 'Approve' });
    assert.equal(heading, 'Device approved');

    const tokens = await polling;
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(typeof tokens.refresh_token, 'string', 'offline_access gives a refresh token');

    // openid-client has validated the ID token (signature, iss, aud, exp); check what it read.
    const idClaims = tokens.claims();
    assert.equal(idClaims.iss, issuer);
    assert.deepEqual(audiences(idClaims.aud), [device.clientId]);
    assert.ok(idClaims.amr.includes('pwd'), `amr ${JSON.stringify(idClaims.amr)} includes pwd`);
    assert.equal(typeof idClaims.auth_time, 'number');

    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, audience: api.audience, typ: 'at+jwt' });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.client_id, device.clientId);
    assert.equal(payload.sub, idClaims.sub);
    assert.equal(payload.scope, device.scopes.join(' '));

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    assert.equal(userinfo.preferred_username, user.userName);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.equal(typeof refreshed.access_token, 'string');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotated');

    // The device code is spent: polling it again fails with invalid_grant.
    await assert.rejects(
      client.pollDeviceAuthorizationGrant(config, deviceResponse),
      (err) => err instanceof client.ResponseBodyError && err.error === 'invalid_grant',
    );
  }, { timeout: 90_000 });

  it('deny in the browser: the polling CLI gets access_denied', async () => {
    const { device, user } = settings;
    const deviceResponse = await client.initiateDeviceAuthorization(config, { scope: 'openid api1' });
    const polling = client.pollDeviceAuthorizationGrant(config, deviceResponse);
    polling.catch(() => {}); // awaited below

    const heading = await approveInBrowser({ deviceResponse, user, clientName: device.displayName, decision: 'Deny' });
    assert.equal(heading, 'Request denied');
    await assert.rejects(polling, (err) => err instanceof client.ResponseBodyError && err.error === 'access_denied');
  }, { timeout: 90_000 });
});
