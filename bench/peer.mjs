// The benchmark's peer: node-oidc-provider (npm oidc-provider) configured for the same jobs as our server, in its own process.
//   node peer.mjs PORT CLIENT_ID CLIENT_SECRET
// One confidential client (client_secret_basic) that may use client_credentials, authorization_code and refresh_token; JWT access
// tokens for the resource https://bench.example signed RS256 with a 2048-bit key; rotating refresh tokens; introspection on.
// Prints "ready" on stdout once it listens.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'https://bench.example';
const scope = 'bench.api';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['https://bench.example/cb'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: `openid offline_access ${scope}`,
  }],
  jwks: { keys: [{ ...rsa, kid: 'bench-rs256', alg: 'RS256', use: 'sig' }] },
  scopes: ['openid', 'offline_access', scope],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope, audience: resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  // Consent is granted by the interaction itself (the bench signs in as one user who consents to everything asked).
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(resource, scope);
    await grant.save();
    return grant;
  },
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
});
provider.proxy = false;
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
