import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { build, get, signedIn, testEnv } from '../../helpers/app.js'

// REDIS_URL: the same latch on one plain Redis node, without a cluster and without
// replicas to wait for.

const port = Number(process.env.TEST_CLUSTER_PORT_BASE ?? 7100) + 590

async function singleNode (t: Test) {
  const node = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'
  ], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(async () => {
    node.kill('SIGTERM')
    if (node.exitCode === null) await once(node, 'exit')
  })
  let output = ''
  for await (const chunk of node.stdout) {
    output += String(chunk)
    if (output.includes('Ready to accept connections')) break
  }
}

t.test('a single node through REDIS_URL', async (t) => {
  await singleNode(t)
  const server = await build(t, testEnv({
    REDIS_CLUSTER_NODES: undefined, REDIS_URL: `redis://127.0.0.1:${port}`
  }))
  t.equal(server.config.WAIT_REPLICAS, 0, 'nothing to wait for on one node')

  const user = await signedIn(server)
  t.equal((await get(server, '/me', user.access_token)).statusCode, 200)
  const ready = await get(server, '/health/ready')
  t.equal(ready.statusCode, 200)
  t.same(ready.json().shards, [{ node: `127.0.0.1:${port}`, ok: true }])

  const out = await server.inject({
    method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${user.access_token}` }
  })
  t.equal(out.statusCode, 204)
  t.equal((await get(server, '/me', user.access_token)).statusCode, 401)
})
