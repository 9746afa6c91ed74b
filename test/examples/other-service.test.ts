import t from 'tap'
import { buildOtherService } from '../../examples/other-service/app.js'
import { build, get, signedIn, testEnv } from '../helpers/app.js'

// Another service that registers latch's verification plugins on the same cluster, key
// prefix and secret accepts latch's tokens, and a logout at latch cuts them off there
// on the very next request.

t.test('a token from latch, checked by another service', async (t) => {
  const env = testEnv()
  const latch = await build(t, env)
  const orders = await buildOtherService({ env })
  t.teardown(() => orders.close())
  await orders.ready()

  const user = await signedIn(latch)

  const before = await get(orders, '/orders', user.access_token)
  t.equal(before.statusCode, 200)
  t.equal(before.json().userId, user.id)

  const logout = await latch.inject({
    method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${user.access_token}` }
  })
  t.equal(logout.statusCode, 204)

  const after = await get(orders, '/orders', user.access_token)
  t.equal(after.statusCode, 401)
  t.equal(after.headers['www-authenticate'], 'Bearer realm="latch", error="invalid_token"')
  t.equal(after.json().code, 'INVALID_TOKEN')

  const without = await get(orders, '/orders')
  t.equal(without.statusCode, 401)
  t.equal(without.headers['www-authenticate'], 'Bearer realm="latch"')

  t.equal((await get(orders, '/health')).statusCode, 200, 'its other routes are its own')
})

t.test('another deployment (another secret) is refused', async (t) => {
  const env = testEnv()
  const latch = await build(t, env)
  const orders = await buildOtherService({
    env: { ...env, JWT_SECRET: 'a-different-secret-of-another-deployment-0123' }
  })
  t.teardown(() => orders.close())
  await orders.ready()

  const user = await signedIn(latch)
  t.equal((await get(orders, '/orders', user.access_token)).statusCode, 401)
})
