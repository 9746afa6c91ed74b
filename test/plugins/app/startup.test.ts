import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { options } from '../../../app.js'
import { clusterNodes, testEnv } from '../../helpers/app.js'

// One line at start says where latch answers, which cluster it uses and what secret.

type Line = Record<string, unknown>

async function start (t: Test, env: Record<string, string | undefined>) {
  const lines: Line[] = []
  const raw: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      raw.push(String(chunk))
      lines.push(JSON.parse(String(chunk)) as Line)
      done()
    }
  })
  const server = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  t.teardown(() => server.close())
  await server.register(fp(app), { env })
  await server.listen({ host: '127.0.0.1', port: 0 })
  const port = (server.addresses()[0] as { port: number }).port
  const announced = lines.filter((line) => line.msg === 'latch is listening')
  return { announced, log: raw.join(''), port }
}

t.test('on a cluster, with a configured secret', async (t) => {
  const { announced, port } = await start(t, testEnv())
  t.equal(announced.length, 1, 'one line')
  t.match(announced[0], {
    level: 30,
    urls: [`http://127.0.0.1:${port}`],
    cluster: clusterNodes.split(','),
    keyPrefix: /^test:/,
    secret: 'configured'
  })
})

t.test('with a development secret', async (t) => {
  const { announced } = await start(t, testEnv({ JWT_SECRET: undefined }))
  t.match(announced[0], { secret: /^development/ })
})

t.test('on one node through REDIS_URL, whose password is never printed', async (t) => {
  const [node] = clusterNodes.split(',')
  // The node asks for no password; ioredis then goes on without one.
  const url = `redis://:not-the-real-one@${node ?? ''}/0`
  const { announced, log } = await start(t, testEnv({ REDIS_URL: url }))
  t.match(announced[0], { cluster: 'single node (REDIS_URL)' })
  t.notOk(log.includes('not-the-real-one'), 'no password in the log')
  t.notOk(log.includes(url), 'no REDIS_URL in the log')
})
