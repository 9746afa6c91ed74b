import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, get, login, register, type Pair } from '../helpers/app.js'

async function logout (server: FastifyInstance, token: string, scope?: string) {
  const query = scope === undefined ? '' : `?scope=${scope}`
  return await server.inject({
    method: 'POST', url: `/auth/logout${query}`, headers: { authorization: `Bearer ${token}` }
  })
}

async function threeSessions (server: FastifyInstance): Promise<Pair[]> {
  const { username } = await register(server)
  return [
    await login(server, username), await login(server, username), await login(server, username)
  ]
}

async function statuses (server: FastifyInstance, pairs: Pair[]): Promise<number[]> {
  const statusOf = async (pair: Pair) => (await get(server, '/me', pair.access_token)).statusCode
  return await Promise.all(pairs.map(statusOf))
}

t.test('POST /auth/logout', async (t) => {
  const server = await build(t)

  t.test('local (the default) ends only the calling session, on the next request', async (t) => {
    const [a, b, c] = await threeSessions(server) as [Pair, Pair, Pair]
    const res = await logout(server, a.access_token)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.same(await statuses(server, [a, b, c]), [401, 200, 200])
  })

  t.test('local, named', async (t) => {
    const [a, b] = await threeSessions(server) as [Pair, Pair]
    t.equal((await logout(server, b.access_token, 'local')).statusCode, 204)
    t.same(await statuses(server, [a, b]), [200, 401])
  })

  t.test('others ends every session but the calling one', async (t) => {
    const [a, b, c] = await threeSessions(server) as [Pair, Pair, Pair]
    t.equal((await logout(server, b.access_token, 'others')).statusCode, 204)
    t.same(await statuses(server, [a, b, c]), [401, 200, 401])
  })

  t.test('global ends all sessions of the user', async (t) => {
    const [a, b, c] = await threeSessions(server) as [Pair, Pair, Pair]
    t.equal((await logout(server, c.access_token, 'global')).statusCode, 204)
    t.same(await statuses(server, [a, b, c]), [401, 401, 401])
  })

  t.test('leaves other users alone', async (t) => {
    const [mine] = await threeSessions(server) as [Pair]
    const [theirs] = await threeSessions(server) as [Pair]
    t.equal((await logout(server, mine.access_token, 'global')).statusCode, 204)
    t.same(await statuses(server, [mine, theirs]), [401, 200])
  })

  t.test('a logged-out token cannot log out again', async (t) => {
    const [a] = await threeSessions(server) as [Pair]
    t.equal((await logout(server, a.access_token)).statusCode, 204)
    const again = await logout(server, a.access_token)
    t.equal(again.statusCode, 401)
    t.equal(again.headers['www-authenticate'], 'Bearer realm="latch", error="invalid_token"')
  })

  t.test('an unknown scope is a 400 and ends nothing', async (t) => {
    const [a] = await threeSessions(server) as [Pair]
    const res = await logout(server, a.access_token, 'everything')
    t.equal(res.statusCode, 400)
    t.same(await statuses(server, [a]), [200])
  })

  t.test('requires a token', async (t) => {
    const res = await server.inject({ method: 'POST', url: '/auth/logout' })
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="latch"')
  })

  t.test('another instance sharing the cluster sees the logout at once', async (t) => {
    const { KEY_PREFIX, JWT_SECRET, REDIS_CLUSTER_NODES } = server.config
    const twin = await build(t, { KEY_PREFIX, JWT_SECRET, REDIS_CLUSTER_NODES })
    const [a] = await threeSessions(server) as [Pair]
    t.same(await statuses(twin, [a]), [200])
    t.equal((await logout(server, a.access_token)).statusCode, 204)
    t.same(await statuses(twin, [a]), [401])
  })
})
