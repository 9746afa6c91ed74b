import t from 'tap'
import { loadConfig, ConfigError } from '../../../plugins/external/config.js'
import { build, testEnv } from '../../helpers/app.js'

const SECRET = 'a-secret-that-is-at-least-32-bytes-long!!'

t.test('defaults match the documented contract', async (t) => {
  const config = loadConfig({ JWT_SECRET: SECRET })
  t.equal(config.REDIS_CLUSTER_NODES.split(',').length, 6)
  t.equal(config.REDIS_CLUSTER_NODES.split(',')[0], '127.0.0.1:7000')
  t.equal(config.ACCESS_TOKEN_TTL, 900)
  t.equal(config.REFRESH_TOKEN_TTL, 2_592_000)
  t.equal(config.REFRESH_GRACE_SECONDS, 10)
  t.equal(config.KEY_PREFIX, 'latch:')
  t.equal(config.LOGIN_RATE_PER_IP, 20)
  t.equal(config.LOGIN_FAILURES_PER_ACCOUNT, 10)
  t.equal(config.CLUSTER_PORT_BASE, 7000)
  t.equal(config.REDIS_URL, undefined)
  t.equal(config.JWT_SECRET_GENERATED, false)
})

t.test('numbers are read from strings', async (t) => {
  const config = loadConfig({ JWT_SECRET: SECRET, ACCESS_TOKEN_TTL: '60' })
  t.equal(config.ACCESS_TOKEN_TTL, 60)
})

t.test('a strong secret is accepted in production', async (t) => {
  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET })
  t.equal(config.JWT_SECRET_GENERATED, false)
})

t.test('a missing secret outside production gets a random one', async (t) => {
  const first = loadConfig({})
  const second = loadConfig({})
  t.equal(first.JWT_SECRET_GENERATED, true)
  t.ok(first.JWT_SECRET.length >= 32)
  t.not(first.JWT_SECRET, second.JWT_SECRET)
})

const invalid: Array<[string, Record<string, string | undefined>, RegExp]> = [
  ['a short secret', { JWT_SECRET: 'short' }, /JWT_SECRET is invalid/],
  ['no secret in production', { NODE_ENV: 'production', JWT_SECRET: undefined },
    /JWT_SECRET is missing/],
  ['a long but repetitive secret in production',
    { NODE_ENV: 'production', JWT_SECRET: 'changeme'.repeat(5) }, /JWT_SECRET is weak/],
  ['a retired secret that is too short', { JWT_PREVIOUS_SECRETS: `${SECRET},short` },
    /JWT_PREVIOUS_SECRETS is invalid/],
  ['a clock skew of ten minutes', { CLOCK_SKEW_SECONDS: '600' }, /CLOCK_SKEW_SECONDS is invalid/],
  ['a proxy setting that is neither', { TRUST_PROXY: 'sometimes' }, /TRUST_PROXY is invalid/],
  ['a TTL that is not a number', { ACCESS_TOKEN_TTL: 'soon' }, /ACCESS_TOKEN_TTL is invalid/],
  ['a TTL of zero', { ACCESS_TOKEN_TTL: '0' }, /ACCESS_TOKEN_TTL is invalid/],
  ['a fractional TTL', { REFRESH_TOKEN_TTL: '3600.5' }, /REFRESH_TOKEN_TTL is invalid/],
  ['a prefix with a hash tag', { KEY_PREFIX: 'a{b}' }, /KEY_PREFIX is invalid/],
  ['nodes without ports', { REDIS_CLUSTER_NODES: 'localhost' }, /REDIS_CLUSTER_NODES is invalid/],
  ['a URL of another scheme', { REDIS_URL: 'http://x' }, /REDIS_URL is invalid/],
  ['a negative rate', { LOGIN_RATE_PER_IP: '-1' }, /LOGIN_RATE_PER_IP is invalid/]
]

for (const [name, env, message] of invalid) {
  t.test(`refuses ${name}, naming the variable`, async (t) => {
    t.throws(() => loadConfig({ JWT_SECRET: SECRET, ...env }), ConfigError)
    t.throws(() => loadConfig({ JWT_SECRET: SECRET, ...env }), { message })
  })
}

t.test('a refused secret is never echoed', async (t) => {
  const secret = 'too-short-secret'
  try {
    loadConfig({ JWT_SECRET: secret })
    t.fail('should have thrown')
  } catch (err) {
    t.notMatch((err as Error).message, secret)
  }
})

t.test('the server does not start with bad configuration', async (t) => {
  await t.rejects(build(t, testEnv({ ACCESS_TOKEN_TTL: 'forever' })), {
    message: /ACCESS_TOKEN_TTL/
  })
})

t.test('the server does not start when the cluster cannot be reached', async (t) => {
  // Nothing listens on port 1: the connection is refused at once.
  await t.rejects(build(t, testEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:1' })), {
    message: /Cannot reach Redis at 127\.0\.0\.1:1/
  })
})
