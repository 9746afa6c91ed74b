import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { options } from '../../../app.js'
import {
  ClusterUnavailable, DeadlinePassed, NotReplicated
} from '../../../plugins/app/errors/errors.js'
import { createGuard } from '../../../plugins/app/cluster-calls.js'
import { clusterFailure, createMetrics } from '../../../plugins/app/metrics.js'
import { build, get, signedIn, testEnv } from '../../helpers/app.js'

const lines = async (text: Promise<string> | string) => (await text).split('\n')

t.test('cluster failures are told apart: too slow, or failed', async (t) => {
  const unavailable = (cause: Error) => new ClusterUnavailable({ cause })
  t.equal(clusterFailure(unavailable(new DeadlinePassed())), 'timeout')
  t.equal(clusterFailure(unavailable(new Error('Command timed out'))), 'timeout')
  t.equal(clusterFailure(unavailable(new NotReplicated())), 'timeout', 'no replica in time')
  t.equal(clusterFailure(unavailable(new Error('Connection is closed.'))), 'error')
  t.equal(clusterFailure(unavailable(new Error('CLUSTERDOWN The cluster is down'))), 'error')
  t.equal(clusterFailure(new Error('unrelated') as never), null)
})

t.test("the guard's own deadline counts as a timeout", async (t) => {
  const guard = createGuard(50)
  t.teardown(() => guard.stop())
  const slow = new Promise((resolve) => setTimeout(resolve, 500))
  const error = await guard(slow).catch((err: unknown) => err)
  t.equal(clusterFailure(error as never), 'timeout')
})

t.test('503s from handlers and from hooks are counted by cause', async (t) => {
  const server = Fastify({ ...options, logger: false })
  t.teardown(() => server.close())
  await server.register(fp(app), { env: testEnv() })
  const slow = () => new ClusterUnavailable({ cause: new DeadlinePassed() })
  server.get('/slow', async () => { throw slow() })
  server.get('/broken', {
    onRequest: async () => { throw new ClusterUnavailable({ cause: new Error('ECONNRESET') }) }
  }, async () => 'unreachable')
  await server.ready()

  t.equal((await get(server, '/slow')).statusCode, 503)
  t.equal((await get(server, '/slow')).statusCode, 503)
  t.equal((await get(server, '/broken')).statusCode, 503)

  const text = await lines(server.metrics.registry.metrics())
  t.ok(text.includes('latch_cluster_unavailable_total{cause="timeout"} 2'))
  t.ok(text.includes('latch_cluster_unavailable_total{cause="error"} 1'))
})

t.test('a cluster that is gone: 503, counted as an error', async (t) => {
  const server = await build(t)
  const user = await signedIn(server)
  // Closed by hand: nothing is left for the server to close at teardown.
  server.cluster.disconnect()

  const me = await get(server, '/me', user.access_token)
  t.equal(me.statusCode, 503)
  t.equal(me.json().code, 'CLUSTER_UNAVAILABLE')
  const text = await lines(get(server, '/metrics').then((res) => res.body))
  t.ok(text.includes('latch_cluster_unavailable_total{cause="error"} 1'))
  t.ok(text.includes('latch_http_requests_total{method="GET",route="/me",status="503"} 1'))
})

t.test('GET /metrics', async (t) => {
  const server = await build(t)
  await get(server, '/health/live')
  await get(server, '/no/such/route?token=abc')
  await new Promise((resolve) => setTimeout(resolve, 100))

  const res = await get(server, '/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = res.body.split('\n')
  t.ok(text.includes('latch_http_requests_total{method="GET",route="/health/live",status="200"} 1'))
  t.ok(text.includes(
    'latch_http_requests_total{method="GET",route="(unmatched)",status="404"} 1'),
  'an unknown URL is one series, whatever the URL')
  t.notMatch(res.body, /no\/such|token=/)
  t.match(res.body, /# TYPE latch_event_loop_delay_seconds histogram/)
  const loop = /^latch_event_loop_delay_seconds_count (\d+)$/m.exec(res.body)
  t.ok(Number(loop?.[1]) > 0, 'the event loop was sampled')
  t.match(res.body, /^process_cpu_seconds_total \d/m)
  t.match(res.body, /^process_resident_memory_bytes \d/m)
})

t.test('each app counts on its own', async (t) => {
  const first = createMetrics()
  const second = createMetrics()
  t.teardown(() => { first.eventLoop.stop(); second.eventLoop.stop() })
  first.logins.inc('success')
  t.ok((await lines(first.registry.metrics())).includes('latch_logins_total{outcome="success"} 1'))
  t.ok((await lines(second.registry.metrics())).includes('latch_logins_total{outcome="success"} 0'))
})

t.test('the event-loop histogram sees a blocked loop', async (t) => {
  const metrics = createMetrics()
  t.teardown(() => metrics.eventLoop.stop())
  await new Promise((resolve) => setTimeout(resolve, 60))
  // A block in an I/O-phase callback, as a slow request handler would be.
  await new Promise<void>((resolve) => setImmediate(() => {
    const end = Date.now() + 120
    while (Date.now() < end);
    resolve()
  }))
  await new Promise((resolve) => setTimeout(resolve, 60))

  const text = await metrics.registry.metrics()
  const bucket = (le: string) => Number(text.split('\n')
    .find((line) => line.startsWith(`latch_event_loop_delay_seconds_bucket{le="${le}"} `))
    ?.split(' ')[1])
  const count = Number(/^latch_event_loop_delay_seconds_count (\d+)$/m.exec(text)?.[1])
  t.ok(count > 0)
  t.ok(bucket('0.1') < count, 'one sample is over 100 ms')
  t.equal(bucket('+Inf'), count)
  const sum = Number(/^latch_event_loop_delay_seconds_sum (\S+)$/m.exec(text)?.[1])
  t.ok(sum >= 0.1, `the delays add up to the block (${sum} s)`)
})
