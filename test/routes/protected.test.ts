import t from 'tap'
import { build, get, login, register, signedIn } from '../helpers/app.js'

const INVALID_TOKEN = 'Bearer realm="latch", error="invalid_token"'

t.test('GET /me and GET /protected', async (t) => {
  const server = await build(t)
  const user = await signedIn(server)

  t.test('answer for the token holder', async (t) => {
    const me = await get(server, '/me', user.access_token)
    t.equal(me.statusCode, 200)
    t.same(me.json(), { id: user.id, username: user.username, session_id: user.session_id })

    const hello = await get(server, '/protected', user.access_token)
    t.equal(hello.statusCode, 200)
    t.same(hello.json(), { message: `Hello, ${user.username}!` })
  })

  t.test('without credentials: 401 with a bare challenge', async (t) => {
    for (const url of ['/me', '/protected']) {
      const res = await get(server, url)
      t.equal(res.statusCode, 401)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="latch"')
      t.equal(res.json().code, 'MISSING_TOKEN')
    }
  })

  t.test('another scheme counts as no bearer credentials', async (t) => {
    const res = await server.inject({
      method: 'GET', url: '/me', headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' }
    })
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="latch"')
  })

  t.test('a bad token: 401 invalid_token', async (t) => {
    const genuine = user.access_token
    const [header, payload, signature = ''] = genuine.split('.')
    const unsigned = `${header}.${payload}.`
    // The first character of the signature carries six full bits: changing it always counts.
    const flipped = (signature.startsWith('A') ? 'B' : 'A') + signature.slice(1)
    const tampered = `${header}.${payload}.${flipped}`
    for (const token of ['garbage', 'a.b.c', unsigned, tampered, user.refresh_token]) {
      const res = await get(server, '/me', token)
      t.equal(res.statusCode, 401, token.slice(0, 20))
      t.equal(res.headers['www-authenticate'], INVALID_TOKEN)
      t.equal(res.json().code, 'INVALID_TOKEN')
      t.notMatch(res.body, token)
    }
  })

  t.test('a malformed Authorization header: 400 invalid_request', async (t) => {
    const token = user.access_token
    const headers = ['Bearer', 'Bearer ', `Bearer ${token} extra`, `Bearer  ${token} x`]
    for (const authorization of headers) {
      const res = await server.inject({ method: 'GET', url: '/me', headers: { authorization } })
      t.equal(res.statusCode, 400, authorization.slice(0, 12))
      t.equal(res.headers['www-authenticate'], 'Bearer realm="latch", error="invalid_request"')
    }
  })

  t.test('two Authorization headers: 400 invalid_request', async (t) => {
    const res = await server.inject({
      method: 'GET',
      url: '/me',
      // Node keeps only the first of repeated Authorization headers; latch must notice.
      headers: {
        authorization: [`Bearer ${user.access_token}`, `Bearer ${user.access_token}`]
      } as unknown as Record<string, string>
    })
    t.equal(res.statusCode, 400)
  })

  t.test('the scheme is case-insensitive', async (t) => {
    const res = await server.inject({
      method: 'GET', url: '/me', headers: { authorization: `bEaReR ${user.access_token}` }
    })
    t.equal(res.statusCode, 200)
  })

  t.test('a token in the query string is not accepted', async (t) => {
    const res = await get(server, `/me?access_token=${user.access_token}`)
    t.equal(res.statusCode, 401)
  })

  t.test('a token signed with another secret is refused', async (t) => {
    const { KEY_PREFIX, REDIS_CLUSTER_NODES } = server.config
    const impostor = await build(t, {
      KEY_PREFIX, REDIS_CLUSTER_NODES, JWT_SECRET: 'a-completely-different-secret-of-enough-length'
    })
    const forged = await signedIn(impostor)
    t.equal((await get(impostor, '/me', forged.access_token)).statusCode, 200)

    const refused = await get(server, '/me', forged.access_token)
    t.equal(refused.statusCode, 401, 'the session exists, but the signature is not ours')
    t.equal(refused.headers['www-authenticate'], INVALID_TOKEN)
  })

  t.test('sessions of one user live and die independently', async (t) => {
    const { username } = await register(server)
    const phone = await login(server, username, undefined, 'phone')
    const laptop = await login(server, username, undefined, 'laptop')

    const out = await server.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${phone.access_token}` }
    })
    t.equal(out.statusCode, 204)
    t.equal((await get(server, '/me', phone.access_token)).statusCode, 401)
    t.equal((await get(server, '/me', laptop.access_token)).statusCode, 200)
  })
})
