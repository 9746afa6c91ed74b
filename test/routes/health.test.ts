import t from 'tap'
import { build, get, signedIn, testEnv } from '../helpers/app.js'
import { eventually, ownCluster } from '../helpers/cluster.js'

t.test('GET /health/live and /health/ready on a healthy cluster', async (t) => {
  const server = await build(t)
  const live = await get(server, '/health/live')
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })

  const ready = await get(server, '/health/ready')
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().status, 'ok')
  t.equal(ready.json().shards.length, 3, 'one entry per master')
})

t.test('a master down: 503 for its shard, never 401, and nothing lost', async (t) => {
  const cluster = await ownCluster(t, 300)
  const server = await build(t, testEnv({
    REDIS_CLUSTER_NODES: cluster.nodes, CLUSTER_TIMEOUT_MS: '750', WAIT_TIMEOUT_MS: '250'
  }))
  const user = await signedIn(server)
  const sessionKey = server.keys.session(user.id, user.session_id)
  const master = await cluster.masterOf(sessionKey)
  // Make sure the replica has the session before its master dies.
  await server.cluster.call('WAIT', '1', '1000')

  await cluster.kill(master)

  const ready = await get(server, '/health/ready')
  t.equal(ready.statusCode, 503)
  t.equal(ready.headers['retry-after'], '1')
  t.ok(ready.json().shards.some((s: { ok: boolean }) => !s.ok), 'the dead shard is named')

  const started = Date.now()
  const me = await get(server, '/me', user.access_token)
  t.equal(me.statusCode, 503, 'not 401: the token is still valid')
  t.equal(me.headers['retry-after'], '1')
  t.equal(me.json().code, 'CLUSTER_UNAVAILABLE')
  t.ok(Date.now() - started < 1500, 'answered promptly')

  // The replica takes over: the session survives the failover.
  const meAnswers = async () => (await get(server, '/me', user.access_token)).statusCode === 200
  await eventually(meAnswers, 20_000)
  await cluster.restart(master)
  await eventually(async () => (await get(server, '/health/ready')).statusCode === 200, 20_000)
  t.pass('ready again once the cluster has healed')
})

t.test('no cluster at all: every route that needs it answers 503', async (t) => {
  const cluster = await ownCluster(t, 310)
  const server = await build(t, testEnv({
    REDIS_CLUSTER_NODES: cluster.nodes, CLUSTER_TIMEOUT_MS: '750', WAIT_TIMEOUT_MS: '250'
  }))
  const user = await signedIn(server)
  await Promise.all(cluster.ports.map(async (port) => await cluster.kill(port)))

  const headers = { authorization: `Bearer ${user.access_token}` }
  const credentials = { username: user.username, password: 'whatever it is' }
  const newcomer = { ...credentials, username: 'newcomer' }
  const requests = [
    { method: 'GET' as const, url: '/me', headers },
    { method: 'POST' as const, url: '/auth/logout', headers },
    { method: 'POST' as const, url: '/auth/login', payload: credentials },
    { method: 'POST' as const, url: '/auth/register', payload: newcomer },
    { method: 'GET' as const, url: '/health/ready' }
  ]
  for (const request of requests) {
    const res = await server.inject(request)
    t.equal(res.statusCode, 503, request.url)
    t.equal(res.headers['retry-after'], '1')
    t.notMatch(res.body, /stack|at \w+ \(/)
  }
  const live = await get(server, '/health/live')
  t.equal(live.statusCode, 200, 'the process itself is alive')
})
