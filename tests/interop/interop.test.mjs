// Interop: the certified relying-party library openid-client (6.x) against a real
// IdentityServer process, with Debian's Chromium (driven by playwright-core) as the
// user agent for sign-in and consent.
//
// Run with `npm test` in this folder once the server is built in Release
// (see server.mjs for how it is started and configured).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import * as jose from 'jose';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

import {
  CHROMIUM_ARGS, CHROMIUM_PATH, audiences, describeBrowser, discover, oauthErrorOf,
} from './helpers.mjs';
import { startCallbackListener, startServer } from './server.mjs';

/** OIDC Core §3.1.3.6: left half of SHA-256 of the access token, base64url. */
function expectedAtHash(accessToken) {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * Opens the authorization URL in Chromium, signs in, answers the consent page with the
 * button named by `decision` ('Allow' or 'Deny'), and returns the URL the relying
 * party's callback listener received.
 */
async function signInAndConsent({ authorizationUrl, callbacks, user, decision = 'Allow' }) {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  let page;
  try {
    const context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const callback = callbacks.nextCallback(30_000);
    callback.catch(() => {}); // awaited below; do not let an early failure go unhandled

    await page.goto(authorizationUrl.href);

    // Login page (server-rendered Razor).
    await page.locator('input[name="Input.UserName"]').fill(user.userName);
    await page.locator('input[autocomplete="current-password"]').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();

    // Consent page.
    await page.getByRole('button', { name: decision, exact: true }).click();

    try {
      return await callback;
    } catch (err) {
      throw new Error('the browser never reached the redirect_uri', { cause: err });
    }
  } catch (err) {
    throw await describeBrowser(err, page);
  } finally {
    await browser.close();
  }
}

describe('openid-client against a real IdentityServer', () => {
  let callbacks;
  let server;
  let issuer;
  let settings;
  let jwks;

  before(async () => {
    callbacks = await startCallbackListener();
    server = await startServer({ redirectUri: callbacks.redirectUri });
    ({ issuer, settings } = server);
    const metadata = (await discover(issuer, settings.web.clientId, settings.web.clientSecret)).serverMetadata();
    jwks = jose.createRemoteJWKSet(new URL(metadata.jwks_uri));
  }, { timeout: 90_000 });

  after(async () => {
    await server?.stop();
    await callbacks?.close();
  });

  /** Verifies an RFC 9068 access token's signature and claims; returns its payload. */
  async function verifyAccessToken(accessToken, { clientId, audience }) {
    assert.equal(typeof accessToken, 'string');
    const { payload, protectedHeader } = await jose.jwtVerify(accessToken, jwks, {
      issuer,
      audience,
      typ: 'at+jwt',
    });
    assert.equal(protectedHeader.typ, 'at+jwt', 'RFC 9068 §2.1: header typ is at+jwt');
    assert.equal(payload.client_id, clientId);
    assert.ok(audiences(payload.aud).includes(audience), `aud ${JSON.stringify(payload.aud)} includes ${audience}`);
    assert.equal(typeof payload.sub, 'string');
    assert.ok(payload.sub.length > 0, 'sub is not empty');
    assert.equal(typeof payload.jti, 'string');
    assert.ok(payload.jti.length > 0, 'jti is not empty');
    assert.equal(typeof payload.scope, 'string');
    assert.equal(typeof payload.iat, 'number');
    assert.equal(typeof payload.exp, 'number');
    assert.ok(payload.exp > payload.iat, 'exp is after iat');
    return payload;
  }

  it('discovery: metadata of the issuer is found and complete', async () => {
    const config = await discover(issuer, settings.web.clientId, settings.web.clientSecret);
    const metadata = config.serverMetadata();

    assert.equal(metadata.issuer, issuer);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
      assert.equal(typeof metadata[endpoint], 'string', `${endpoint} is present`);
      assert.ok(metadata[endpoint].startsWith(`${issuer}/`), `${endpoint} is served by the issuer: ${metadata[endpoint]}`);
    }
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(
      [...metadata.token_endpoint_auth_methods_supported].sort(),
      ['client_secret_basic', 'client_secret_post', 'none'],
    );
    assert.ok(metadata.response_types_supported?.includes('code'), 'response_types_supported includes code');
    assert.ok(metadata.id_token_signing_alg_values_supported?.includes('RS256'), 'RS256 ID tokens are supported');
  });

  it('client_credentials: the service gets an RFC 9068 access token and nothing else', async () => {
    const { service, api } = settings;
    const config = await discover(issuer, service.clientId, service.clientSecret, client.ClientSecretBasic(service.clientSecret));

    const tokens = await client.clientCredentialsGrant(config, { scope: api.scope });

    assert.equal(tokens.token_type, 'bearer');
    assert.equal(typeof tokens.expires_in, 'number');
    assert.equal(tokens.refresh_token, undefined, 'no refresh_token for client_credentials');
    assert.equal(tokens.id_token, undefined, 'no id_token for client_credentials');

    const claims = await verifyAccessToken(tokens.access_token, { clientId: service.clientId, audience: api.audience });
    assert.equal(claims.scope, api.scope);
  });

  it('client_credentials: a wrong client secret is invalid_client (401), by basic and by post', async () => {
    const { service, api } = settings;
    const wrongSecret = client.randomState(); // 43 random base64url characters, not the secret
    assert.notEqual(wrongSecret, service.clientSecret);

    const basic = await discover(issuer, service.clientId, wrongSecret, client.ClientSecretBasic(wrongSecret));
    const basicError = await oauthErrorOf(client.clientCredentialsGrant(basic, { scope: api.scope }));
    assert.equal(basicError.status, 401);
    assert.equal(basicError.error, 'invalid_client');
    assert.ok(basicError.wwwAuthenticate, 'RFC 6749 §5.2: 401 after HTTP Basic carries WWW-Authenticate');

    const post = await discover(issuer, service.clientId, wrongSecret, client.ClientSecretPost(wrongSecret));
    const postError = await oauthErrorOf(client.clientCredentialsGrant(post, { scope: api.scope }));
    assert.equal(postError.status, 401);
    assert.equal(postError.error, 'invalid_client');
  });

  it('introspection and revocation (RFC 7662, RFC 7009) through openid-client', async () => {
    const { service, api } = settings;
    const config = await discover(issuer, service.clientId, service.clientSecret, client.ClientSecretBasic(service.clientSecret));
    const metadata = config.serverMetadata();
    assert.equal(metadata.introspection_endpoint, `${issuer}/connect/introspect`);
    assert.equal(metadata.revocation_endpoint, `${issuer}/connect/revocation`);

    const { access_token: accessToken } = await client.clientCredentialsGrant(config, { scope: api.scope });
    const active = await client.tokenIntrospection(config, accessToken);
    assert.equal(active.active, true);
    assert.equal(active.client_id, service.clientId);
    assert.equal(active.scope, api.scope);
    assert.equal(active.token_type, 'Bearer');

    await client.tokenRevocation(config, accessToken, { token_type_hint: 'access_token' });
    const revoked = await client.tokenIntrospection(config, accessToken);
    assert.deepEqual(revoked, { active: false });

    // An unknown token is simply not active, and revoking it is not an error (RFC 7009 §2.2).
    assert.deepEqual(await client.tokenIntrospection(config, 'no-such-token'), { active: false });
    await client.tokenRevocation(config, 'no-such-token');
  });

  describe('authorization code + PKCE through Chromium', () => {
    let config;
    let callbackUrl;
    let codeVerifier;
    let state;
    let nonce;
    let tokens;
    let idClaims;
    let refreshed;

    before(async () => {
      config = await discover(issuer, settings.web.clientId, settings.web.clientSecret);
    });

    /** A fresh authorization request: its URL and the values the callback is checked against. */
    async function authorizationRequest() {
      const request = {
        codeVerifier: client.randomPKCECodeVerifier(),
        state: client.randomState(),
        nonce: client.randomNonce(),
      };
      request.url = client.buildAuthorizationUrl(config, {
        redirect_uri: settings.web.redirectUri,
        scope: 'openid profile email offline_access api1',
        code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
        state: request.state,
        nonce: request.nonce,
      });
      return request;
    }

    // Runs before the allowing flow: once alice has allowed, the server may remember
    // her consent and skip the consent page.
    it('denying consent sends the browser back with access_denied, state and iss', async () => {
      const { user } = settings;
      const request = await authorizationRequest();

      const deniedUrl = new URL(await signInAndConsent({
        authorizationUrl: request.url, callbacks, user, decision: 'Deny',
      }));

      assert.equal(deniedUrl.searchParams.get('error'), 'access_denied');
      assert.equal(deniedUrl.searchParams.get('state'), request.state);
      assert.equal(deniedUrl.searchParams.get('iss'), issuer, 'RFC 9207 iss parameter');
      assert.equal(deniedUrl.searchParams.get('code'), null, 'no code after a denial');
      await assert.rejects(
        client.authorizationCodeGrant(config, deniedUrl, {
          pkceCodeVerifier: request.codeVerifier,
          expectedState: request.state,
          expectedNonce: request.nonce,
        }),
        (err) => err instanceof client.AuthorizationResponseError && err.error === 'access_denied',
      );
    }, { timeout: 60_000 });

    it('sign-in and consent send the browser back with code, state and iss', async () => {
      const { web, user } = settings;
      const request = await authorizationRequest();
      ({ codeVerifier, state, nonce } = request);

      callbackUrl = new URL(await signInAndConsent({ authorizationUrl: request.url, callbacks, user }));

      assert.equal(`${callbackUrl.origin}${callbackUrl.pathname}`, web.redirectUri);
      assert.ok(callbackUrl.searchParams.get('code'), 'code is present');
      assert.equal(callbackUrl.searchParams.get('state'), state);
      assert.equal(callbackUrl.searchParams.get('iss'), issuer, 'RFC 9207 iss parameter');
      assert.equal(callbackUrl.searchParams.get('error'), null);
    }, { timeout: 60_000 });

    it('the code redeems for an ID token, an access token and a refresh token', async () => {
      assert.ok(callbackUrl, 'needs the callback URL from the browser test');
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });

      assert.equal(tokens.token_type, 'bearer');
      assert.equal(typeof tokens.id_token, 'string');
      assert.equal(typeof tokens.access_token, 'string');
      assert.equal(typeof tokens.refresh_token, 'string', 'offline_access gives a refresh token');
      assert.notEqual(tokens.refresh_token.split('.').length, 3, 'the refresh token is opaque, not a JWT');
    });

    it('ID token: RS256 signature from the JWKS and the expected claims', async () => {
      assert.ok(tokens, 'needs the tokens from the code redemption');
      const { web, user } = settings;
      idClaims = tokens.claims();

      const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
        issuer,
        audience: web.clientId,
        algorithms: ['RS256'],
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(typeof protectedHeader.kid, 'string', 'kid names the signing key');
      assert.deepEqual(payload, idClaims, 'openid-client and jose read the same claims');

      assert.equal(idClaims.iss, issuer);
      assert.deepEqual(audiences(idClaims.aud), [web.clientId]);
      assert.equal(typeof idClaims.sub, 'string');
      assert.ok(idClaims.sub.length > 0, 'sub is not empty');
      assert.notEqual(idClaims.sub, user.userName, 'sub is a stable identifier, not the user name');
      assert.equal(idClaims.nonce, nonce);
      assert.equal(typeof idClaims.auth_time, 'number');
      assert.ok(idClaims.auth_time <= idClaims.iat + 5, 'auth_time is not after the token was issued');
      assert.ok(Array.isArray(idClaims.amr), 'amr is an array');
      assert.ok(idClaims.amr.includes('pwd'), `amr ${JSON.stringify(idClaims.amr)} includes pwd`);
      assert.equal(typeof idClaims.sid, 'string', 'sid is present');
      assert.equal(idClaims.at_hash, expectedAtHash(tokens.access_token), 'at_hash matches the access token');
    });

    it('access token: RFC 9068 JWT for the user, the web client and the API', async () => {
      assert.ok(idClaims, 'needs the ID token claims');
      const { web, api } = settings;
      const claims = await verifyAccessToken(tokens.access_token, { clientId: web.clientId, audience: api.audience });
      assert.equal(claims.sub, idClaims.sub);
      assert.ok(claims.scope.split(' ').includes('api1'), `scope "${claims.scope}" includes api1`);
    });

    it('userinfo returns the profile and email claims of the signed-in user', async () => {
      assert.ok(idClaims, 'needs the ID token claims');
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      assert.equal(userinfo.sub, idClaims.sub);
      assert.equal(userinfo.preferred_username, settings.user.userName);
      assert.equal(userinfo.email, settings.user.email);
    });

    it('refresh_token: gives new tokens and a rotated refresh token; the old one is then invalid_grant', async () => {
      assert.ok(tokens, 'needs the tokens from the code redemption');
      const { web, api } = settings;
      const oldRefreshToken = tokens.refresh_token;

      refreshed = await client.refreshTokenGrant(config, oldRefreshToken);
      assert.equal(typeof refreshed.access_token, 'string');
      assert.notEqual(refreshed.access_token, tokens.access_token, 'a new access token');
      assert.equal(typeof refreshed.refresh_token, 'string', 'a rotated refresh token');
      assert.notEqual(refreshed.refresh_token, oldRefreshToken, 'the refresh token rotated');
      const claims = await verifyAccessToken(refreshed.access_token, { clientId: web.clientId, audience: api.audience });
      assert.equal(claims.sub, idClaims.sub);
      if (refreshed.id_token) {
        assert.equal(refreshed.claims().sub, idClaims.sub);
      }

      const reuse = await oauthErrorOf(client.refreshTokenGrant(config, oldRefreshToken));
      assert.equal(reuse.status, 400);
      assert.equal(reuse.error, 'invalid_grant');
    });

    it('refresh_token: after a reuse, the newest refresh token of the grant is revoked too', async () => {
      assert.ok(refreshed, 'needs the rotated refresh token from the previous test');
      // RFC 9700 §4.14.2: a replayed refresh token revokes the whole grant family.
      const revoked = await oauthErrorOf(client.refreshTokenGrant(config, refreshed.refresh_token));
      assert.equal(revoked.status, 400);
      assert.equal(revoked.error, 'invalid_grant');
    });

    it('authorization code: a second redemption of the same code is invalid_grant', async () => {
      assert.ok(callbackUrl, 'needs the callback URL from the browser test');
      // RFC 6749 §4.1.2: the code is single use.
      const replay = await oauthErrorOf(client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      }));
      assert.equal(replay.status, 400);
      assert.equal(replay.error, 'invalid_grant');
    });
  });
});
