import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, get, login, register, signedIn } from '../helpers/app.js'

async function listOf (server: FastifyInstance, token: string) {
  const res = await get(server, '/auth/sessions', token)
  t.equal(res.statusCode, 200)
  return res.json().sessions as Array<Record<string, unknown>>
}

async function endSession (server: FastifyInstance, token: string, id: string) {
  return await server.inject({
    method: 'DELETE', url: `/auth/sessions/${id}`, headers: { authorization: `Bearer ${token}` }
  })
}

t.test('GET /auth/sessions', async (t) => {
  const server = await build(t)

  t.test('lists the live sessions, marking the current one', async (t) => {
    const { username } = await register(server)
    const phone = await login(server, username, undefined, 'Phone/1.0')
    const laptop = await login(server, username, undefined, 'Laptop/2.0')

    const sessions = await listOf(server, laptop.access_token)
    t.equal(sessions.length, 2)
    const byId = new Map(sessions.map((s) => [s.id, s]))
    t.match(byId.get(phone.session_id), {
      user_agent: 'Phone/1.0', ip: '127.0.0.1', current: false
    })
    t.match(byId.get(laptop.session_id), { user_agent: 'Laptop/2.0', current: true })
    for (const session of sessions) {
      t.same(Object.keys(session).sort(),
        ['created_at', 'current', 'id', 'ip', 'last_used_at', 'user_agent'])
      t.ok(Math.abs(Date.parse(String(session.created_at)) - Date.now()) < 60_000)
      t.ok(Date.parse(String(session.last_used_at)) >= Date.parse(String(session.created_at)))
    }
  })

  t.test('shows only the caller\'s sessions', async (t) => {
    const mine = await signedIn(server)
    await signedIn(server)
    const sessions = await listOf(server, mine.access_token)
    t.same(sessions.map((s) => s.id), [mine.session_id])
  })

  t.test('last_used_at moves on use, but is not written on every request', async (t) => {
    const user = await signedIn(server)
    const key = server.keys.session(user.id, user.session_id)
    const before = await server.cluster.hget(key, 'last_used_at')
    await get(server, '/me', user.access_token)
    t.equal(await server.cluster.hget(key, 'last_used_at'), before, 'fresh: no write')

    const longAgo = String(Date.now() - 120_000)
    await server.cluster.hset(key, 'last_used_at', longAgo)
    await get(server, '/me', user.access_token)
    const [session] = await listOf(server, user.access_token)
    t.ok(Date.parse(String(session?.last_used_at)) > Number(longAgo) + 60_000, 'updated')
  })

  t.test('an expired session drops out of the list without any sweep', async (t) => {
    const { username } = await register(server)
    const staying = await login(server, username)
    const leaving = await login(server, username)
    const key = server.keys.session((await get(server, '/me', leaving.access_token)).json().id,
      leaving.session_id)
    await server.cluster.pexpire(key, 1)
    await new Promise((resolve) => setTimeout(resolve, 20))

    const sessions = await listOf(server, staying.access_token)
    t.same(sessions.map((s) => s.id), [staying.session_id])
  })

  t.test('requires a live token', async (t) => {
    const res = await get(server, '/auth/sessions')
    t.equal(res.statusCode, 401)
  })
})

t.test('DELETE /auth/sessions/:id', async (t) => {
  const server = await build(t)

  t.test('ends one of the caller\'s own sessions', async (t) => {
    const { username } = await register(server)
    const phone = await login(server, username)
    const laptop = await login(server, username)
    const res = await endSession(server, laptop.access_token, phone.session_id)
    t.equal(res.statusCode, 204)
    t.equal((await get(server, '/me', phone.access_token)).statusCode, 401)
    t.equal((await get(server, '/me', laptop.access_token)).statusCode, 200)
    t.equal((await endSession(server, laptop.access_token, phone.session_id)).statusCode, 404)
  })

  t.test('another user\'s session is 404 and stays alive', async (t) => {
    const mallory = await signedIn(server)
    const alice = await signedIn(server)
    const res = await endSession(server, mallory.access_token, alice.session_id)
    t.equal(res.statusCode, 404)
    t.equal(res.json().code, 'NOT_FOUND')
    t.equal((await get(server, '/me', alice.access_token)).statusCode, 200)
  })

  t.test('an unknown id is 404; a malformed one 400', async (t) => {
    const user = await signedIn(server)
    t.equal((await endSession(server, user.access_token, 'A'.repeat(22))).statusCode, 404)
    t.equal((await endSession(server, user.access_token, '..%2F..%2Fetc')).statusCode, 400)
    t.equal((await endSession(server, user.access_token, 'x'.repeat(23))).statusCode, 400)
    t.equal((await get(server, '/me', user.access_token)).statusCode, 200)
  })
})
