import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, testEnv, register, PASSWORD } from '../../helpers/app.js'
import type { Credentials } from '../../../plugins/app/users/store.js'
import { keysMatching } from '../../helpers/state.js'

async function slotOf (server: FastifyInstance, key: string): Promise<number> {
  return Number(await server.cluster.call('CLUSTER', 'KEYSLOT', key))
}

/** A fresh user, with what a successful password check yields. */
async function someone (server: FastifyInstance) {
  const { username } = await register(server)
  const user = await server.users.authenticate(username, PASSWORD)
  if (user === null) throw new Error('cannot log in')
  return user
}

async function open (server: FastifyInstance, user: Credentials) {
  const session = await server.sessions.create({
    userId: user.id,
    username: user.username,
    credential: user.credential,
    userAgent: 'tap',
    ip: '127.0.0.1'
  })
  if (session === null) throw new Error('no session')
  return session
}

t.test('session store', async (t) => {
  const server = await build(t, testEnv({ REFRESH_TOKEN_TTL: '3600' }))
  const { sessions, keys } = server

  t.test('a created session is live until it is ended', async (t) => {
    const user = await someone(server)
    const { id } = user
    const { sessionId, refreshToken } = await open(server, user)
    t.ok(refreshToken.startsWith(`${id}.${sessionId}.`))
    t.same(await sessions.check(id, sessionId), { username: user.username })
    t.equal(await sessions.end(id, sessionId), true)
    t.equal(await sessions.check(id, sessionId), null)
    t.equal(await sessions.end(id, sessionId), false, 'ending twice ends nothing')
  })

  t.test('the refresh secret is stored only as a hash', async (t) => {
    const user = await someone(server)
    const { id } = user
    const { sessionId, refreshToken } = await open(server, user)
    const stored = await server.cluster.hgetall(keys.session(id, sessionId))
    const nonce = refreshToken.split('.')[2] ?? ''
    t.ok(nonce.length >= 43, 'at least 256 random bits')
    t.notOk(JSON.stringify(stored).includes(nonce))
  })

  t.test('endAll keeps the named session and ends the rest', async (t) => {
    const user = await someone(server)
    const { id } = user
    const created = await Promise.all([1, 2, 3].map(async () => await open(server, user)))
    const [keep, ...rest] = created.map((s) => s.sessionId) as [string, ...string[]]
    t.equal(await sessions.endAll(id, keep), 2)
    t.ok(await sessions.check(id, keep))
    for (const sid of rest) t.equal(await sessions.check(id, sid), null)
    t.equal(await sessions.endAll(id), 1)
    t.equal(await sessions.check(id, keep), null)
    t.equal(await server.cluster.exists(keys.sessions(id)), 0, 'the index is gone too')
  })

  t.test('every session key has a TTL and shares its user\'s slot', async (t) => {
    const user = await someone(server)
    const { id } = user
    const first = await open(server, user)
    await open(server, user)
    await sessions.rotate(first.refreshToken)
    await sessions.check(id, first.sessionId)
    await server.cluster.hset(keys.session(id, first.sessionId), 'last_used_at', '0')
    await sessions.check(id, first.sessionId)
    await sessions.list(id)
    const userSlot = await slotOf(server, keys.user(id))
    const written = await keysMatching(server, `${server.config.KEY_PREFIX}*{${id}}*`)
    t.equal(written.length, 4, 'user, index and two sessions')
    for (const key of written) {
      t.equal(await slotOf(server, key), userSlot, key)
      if (key === keys.user(id)) continue
      const ttl = await server.cluster.ttl(key)
      t.ok(ttl > 3500 && ttl <= 3600, `${key} expires with the session (${ttl} s)`)
    }
  })

  t.test('expired sessions leave the index when the next one is created', async (t) => {
    const user = await someone(server)
    const { id } = user
    const old = await open(server, user)
    // Pretend the first session expired: its index entry has a past score.
    await server.cluster.zadd(keys.sessions(id), 1, old.sessionId)
    await open(server, user)
    const sids = await server.cluster.zrange(keys.sessions(id), 0, -1)
    t.equal(sids.length, 1)
    t.not(sids[0], old.sessionId)
  })

  t.test('no session starts on a password check that is no longer true', async (t) => {
    const changed = await someone(server)
    await server.users.changePassword(changed.id, '', PASSWORD, 'a brand new password')
    await t.rejects(open(server, changed), { message: 'no session' })

    const deleted = await someone(server)
    await server.users.remove(deleted.id, PASSWORD)
    await t.rejects(open(server, deleted), { message: 'no session' })
    t.equal(await server.cluster.exists(keys.sessions(deleted.id)), 0)
  })

  t.test('malformed ids never reach a key', async (t) => {
    t.throws(() => keys.session('../../etc', 'x'), TypeError)
    t.throws(() => keys.user('a}b{c'), TypeError)
  })
})
