// A real OpenID provider (the certified `oidc-provider` package) for qharbor's tests.
//
// Two issuers, so tests can present a token from a provider the centre does not trust,
// and a control port for what only the provider's admin could do: rotate its signing
// keys, change a user's groups, shorten token lifetimes, register the centre's
// callback URL. Changing keys or lifetimes builds a new Provider over the same
// in-memory store, so sessions, grants and refresh tokens survive the change.
//
// Started as `node provider.mjs`; prints one JSON line with its three base URLs.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const DEFAULT_USERS = {
  alice: { name: 'Alice', email: 'alice@example.org', groups: ['physics-lab'] },
  bob: { name: 'Bob', email: 'bob@example.org', groups: ['guests'] },
  carol: { name: 'Carol', email: 'carol@example.org', groups: ['hpc-ops'] },
};
const DEFAULT_TTL = { IdToken: 600, AccessToken: 600, RefreshToken: 3600 };

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function freshState() {
  return {
    users: structuredClone(DEFAULT_USERS),
    ttl: { ...DEFAULT_TTL },
    keys: [newKey()],
    redirectUris: ['http://127.0.0.1/auth/callback'],
  };
}

const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

function configuration(state) {
  return {
    clients: [
      {
        // The centre's console: a confidential client, code flow with PKCE.
        client_id: 'qharbor-console',
        client_secret: 'console-secret',
        redirect_uris: state.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        // The CLI: a public client with the device grant.
        client_id: 'qharbor-cli',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
      {
        // Some other application at the same provider: its tokens are not for the centre.
        client_id: 'other-app',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: state.keys },
    cookies: { keys: ['qharbor-test-cookie-key'] },
    claims: {
      openid: ['sub'],
      // As Keycloak's group mapper does, groups come with the profile scope.
      profile: ['name', 'preferred_username', 'groups'],
      email: ['email'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    ttl: {
      IdToken: () => state.ttl.IdToken,
      AccessToken: () => state.ttl.AccessToken,
      RefreshToken: () => state.ttl.RefreshToken,
      DeviceCode: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    // Refresh tokens whenever the client may use them, without `offline_access` consent.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Each refresh gets a new ID token with the user's claims as they are then.
    rotateRefreshToken: () => true,
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      const user = state.users[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          const now = state.users[id] ?? { groups: [] };
          return {
            sub: id,
            name: now.name,
            preferred_username: id,
            email: now.email,
            groups: [...now.groups],
          };
        },
      };
    },
  };
}

async function listen(server, port) {
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

function issuerServer() {
  const holder = { provider: null };
  const server = http.createServer((req, res) => holder.provider.callback()(req, res));
  return { holder, server };
}

const main = issuerServer();
const other = issuerServer();
const mainUrl = await listen(main.server, Number(process.env.OIDC_PORT ?? 0));
const otherUrl = await listen(other.server, Number(process.env.OIDC_OTHER_PORT ?? 0));

let state = freshState();
const otherState = freshState();

function build() {
  main.holder.provider = new Provider(mainUrl, configuration(state));
}
build();
other.holder.provider = new Provider(otherUrl, configuration(otherState));

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body ? JSON.parse(body) : {};
}

const control = http.createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    const url = new URL(req.url, 'http://control');
    const body = req.method === 'GET' ? {} : await readJson(req);
    const userMatch = url.pathname.match(/^\/users\/([^/]+)$/);
    if (req.method === 'POST' && url.pathname === '/rotate') {
      // The old key is withdrawn at once: tokens it signed name a kid that is gone.
      const old = state.keys.map((k) => k.kid);
      state.keys = [newKey()];
      build();
      return reply(200, { old, new: state.keys.map((k) => k.kid) });
    }
    if (req.method === 'PUT' && userMatch) {
      state.users[userMatch[1]] = { ...state.users[userMatch[1]], ...body };
      return reply(200, state.users[userMatch[1]]);
    }
    if (req.method === 'PUT' && url.pathname === '/ttl') {
      state.ttl = { ...state.ttl, ...body };
      build();
      return reply(200, state.ttl);
    }
    if (req.method === 'PUT' && url.pathname === '/redirect_uris') {
      state.redirectUris = body.redirect_uris;
      build();
      return reply(200, { redirect_uris: state.redirectUris });
    }
    if (req.method === 'POST' && url.pathname === '/reset') {
      // Users and lifetimes as at start; the keys and callback URLs stay.
      state = { ...freshState(), keys: state.keys, redirectUris: state.redirectUris };
      build();
      return reply(200, {});
    }
    return reply(404, { error: 'no such control route' });
  } catch (err) {
    return reply(500, { error: String(err) });
  }
});
const controlUrl = await listen(control, Number(process.env.OIDC_CONTROL_PORT ?? 0));

process.stdout.write(`${JSON.stringify({ issuer: mainUrl, other_issuer: otherUrl, control: controlUrl })}\n`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
