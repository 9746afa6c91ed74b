import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, register, uniqueName } from '../helpers/app.js'

// A client must not learn whether an account exists from how long a failed login takes.

const SAMPLES = 31

async function timeLogin (server: FastifyInstance, username: string): Promise<number> {
  const started = process.hrtime.bigint()
  const res = await server.inject({
    method: 'POST', url: '/auth/login', payload: { username, password: 'definitely wrong' }
  })
  if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0

t.test('unknown user and wrong password take the same time', async (t) => {
  const server = await build(t)
  const { username } = await register(server)
  const known: number[] = []
  const unknown: number[] = []
  await timeLogin(server, username)

  // Interleaved, so that a busy moment of the machine hits both alike.
  for (let i = 0; i < SAMPLES; i++) {
    known.push(await timeLogin(server, username))
    unknown.push(await timeLogin(server, uniqueName('ghost')))
  }

  const gap = Math.abs(median(known) - median(unknown))
  t.comment(`median wrong password ${median(known).toFixed(2)} ms, ` +
    `unknown user ${median(unknown).toFixed(2)} ms, gap ${gap.toFixed(2)} ms`)
  t.ok(gap < 3, `medians within 3 ms (gap ${gap.toFixed(2)} ms)`)
})
