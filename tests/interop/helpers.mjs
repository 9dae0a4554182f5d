// Helpers shared by the interop test files: client configuration from discovery,
// the Chromium launch settings, and reading OAuth error responses from openid-client.

import assert from 'node:assert/strict';

import * as client from 'openid-client';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// http on loopback: openid-client refuses plain http unless told otherwise.
const insecure = { execute: [client.allowInsecureRequests] };

/** Client configuration from the server's discovery document. */
export function discover(issuer, clientId, clientSecret, clientAuthentication) {
  return client.discovery(new URL(issuer), clientId, clientSecret, clientAuthentication, insecure);
}

/** The `aud` claim as an array, whether the token carries a string or an array. */
export function audiences(aud) {
  return Array.isArray(aud) ? aud : [aud];
}

/**
 * Awaits a request that must fail with an OAuth error response and returns
 * { status, error, wwwAuthenticate }. openid-client throws ResponseBodyError for a JSON
 * error body, or WWWAuthenticateChallengeError when a 4xx carries WWW-Authenticate
 * (then the body is still unread and is parsed here).
 */
export async function oauthErrorOf(promise) {
  let failure;
  try {
    await promise;
  } catch (err) {
    failure = err;
  }
  assert.ok(failure, 'expected an OAuth error response, but the request succeeded');
  if (failure instanceof client.ResponseBodyError) {
    return {
      status: failure.status,
      error: failure.error,
      wwwAuthenticate: failure.response.headers.get('www-authenticate'),
    };
  }
  if (failure instanceof client.WWWAuthenticateChallengeError) {
    const body = await failure.response.json();
    return {
      status: failure.status,
      error: body.error,
      wwwAuthenticate: failure.response.headers.get('www-authenticate'),
    };
  }
  throw failure;
}

/**
 * Adds where the browser was to a failed test's error: the page URL and the start of its text, then `extra`.
 * Returns the error, for `throw await describeBrowser(err, page)`.
 */
export async function describeBrowser(err, page, extra = '') {
  if (page && !page.isClosed()) {
    const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '(no body)');
    err.message += `\n  browser at: ${page.url()}\n  page text: ${text.slice(0, 1_000)}${extra}`;
  }
  return err;
}
