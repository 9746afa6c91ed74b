import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

const DEFAULT_CLUSTER_NODES = [0, 1, 2, 3, 4, 5].map((n) => `127.0.0.1:${7000 + n}`).join(',')
const HOST_PORT = '[A-Za-z0-9.-]+:[0-9]{1,5}'

const Seconds = (min: number, max: number, fallback: number) =>
  Type.Integer({ minimum: min, maximum: max, default: fallback })

export const EnvSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  REDIS_CLUSTER_NODES: Type.String({
    pattern: `^${HOST_PORT}(,${HOST_PORT})*$`,
    default: DEFAULT_CLUSTER_NODES,
    description: 'comma-separated host:port seed nodes'
  }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'a redis:// URL' })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'at least 32 bytes' })),
  JWT_PREVIOUS_SECRETS: Type.Optional(Type.String({
    pattern: '^[^,]{32,}(,[^,]{32,})*$',
    description: 'comma-separated retired secrets, each at least 32 bytes'
  })),
  JWT_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_PUBLIC_KEY_FILES: Type.Optional(Type.String({ minLength: 1 })),
  CLOCK_SKEW_SECONDS: Seconds(0, 300, 30),
  ACCESS_TOKEN_TTL: Seconds(30, 86_400, 900),
  REFRESH_TOKEN_TTL: Seconds(300, 31_536_000, 2_592_000),
  REFRESH_GRACE_SECONDS: Seconds(0, 300, 10),
  KEY_PREFIX: Type.String({
    // Braces would become a hash tag and break the one-slot-per-user layout.
    pattern: '^[A-Za-z0-9:._-]{1,64}$',
    default: 'latch:',
    description: 'letters, digits and : . _ - only'
  }),
  LOGIN_RATE_PER_IP: Type.Integer({ minimum: 1, maximum: 100_000, default: 20 }),
  LOGIN_FAILURES_PER_ACCOUNT: Type.Integer({ minimum: 1, maximum: 100_000, default: 10 }),
  REGISTER_RATE_PER_IP: Type.Integer({ minimum: 1, maximum: 100_000, default: 10 }),
  REFRESH_RATE_PER_SESSION: Type.Integer({ minimum: 1, maximum: 100_000, default: 30 }),
  TRUST_PROXY: Type.Optional(Type.String({
    pattern: '^(true|false|[0-9]{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$',
    description: 'true, a hop count, or comma-separated proxy addresses or CIDR ranges'
  })),
  WAIT_REPLICAS: Type.Optional(Type.Integer({
    minimum: 0, maximum: 5, description: 'replicas that must confirm a write (0 to 5)'
  })),
  WAIT_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 5000, default: 250 }),
  CLUSTER_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 30_000, default: 750 }),
  CLUSTER_PORT_BASE: Type.Integer({ minimum: 1024, maximum: 65_530, default: 7000 })
})

export type Env = Static<typeof EnvSchema>

export interface Config extends Omit<Env, 'JWT_SECRET' | 'WAIT_REPLICAS'> {
  JWT_SECRET: string
  /** 1 on a cluster, 0 on a single node (REDIS_URL), unless set. */
  WAIT_REPLICAS: number
  /** True when no secret was configured and a random one was made for this process. */
  JWT_SECRET_GENERATED: boolean
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type RawEnv = Record<string, string | undefined>

/**
 * Reads the configuration from `source` (the process environment by default), fills in
 * defaults and throws a ConfigError naming the first variable that is wrong.
 */
export function loadConfig (source: RawEnv = process.env): Config {
  const known = pickKnown(source)
  const env = Value.Default(EnvSchema, withIntegers(known))
  const error = Value.Errors(EnvSchema, env).First()
  if (error !== undefined) {
    const name = error.path.replace(/^\//, '')
    const hint = error.schema.description ?? error.message
    throw new ConfigError(`Invalid configuration: ${name} ${describe(known[name])}: ${hint}`)
  }
  return withReplicas(withSecret(env as Env))
}

type Unresolved = Omit<Config, 'WAIT_REPLICAS'> & { WAIT_REPLICAS?: number }

function withReplicas (config: Unresolved): Config {
  // A single node has no replica to wait for.
  const fallback = config.REDIS_URL === undefined ? 1 : 0
  return { ...config, WAIT_REPLICAS: config.WAIT_REPLICAS ?? fallback }
}

function pickKnown (source: RawEnv): Record<string, string> {
  const known: Record<string, string> = {}
  for (const name of Object.keys(EnvSchema.properties)) {
    const value = source[name]
    if (value !== undefined && value !== '') known[name] = value
  }
  return known
}

/** Whole numbers only: "3600.5" or "1e3" stay strings and fail the check, never round. */
function withIntegers (env: Record<string, string>): Record<string, string | number> {
  const converted: Record<string, string | number> = { ...env }
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    const value = env[name]
    if (schema.type === 'integer' && value !== undefined && /^-?[0-9]{1,15}$/.test(value)) {
      converted[name] = Number(value)
    }
  }
  return converted
}

function describe (value: string | undefined): string {
  // Never echo a value: it may be a secret.
  return value === undefined ? 'is missing' : 'is invalid'
}

/** Long enough is not enough: "aaaa…" or "changeme-changeme-…" has little entropy. */
export function isWeakSecret (secret: string): boolean {
  return Buffer.byteLength(secret) < 32 || new Set(secret).size < 16
}

function withSecret (env: Env): Unresolved {
  const production = env.NODE_ENV === 'production'
  if (env.JWT_SECRET !== undefined) {
    if (production && isWeakSecret(env.JWT_SECRET)) {
      throw new ConfigError('Invalid configuration: JWT_SECRET is weak: ' +
        'use at least 32 random bytes, e.g. 48 bytes in base64url')
    }
    return { ...env, JWT_SECRET: env.JWT_SECRET, JWT_SECRET_GENERATED: false }
  }
  if (production) {
    throw new ConfigError('Invalid configuration: JWT_SECRET is missing: required in production')
  }
  const secret = randomBytes(32).toString('base64url')
  return { ...env, JWT_SECRET: secret, JWT_SECRET_GENERATED: true }
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface ConfigOptions {
  /** Variables that take the place of the process environment (tests, embedding). */
  env?: RawEnv
}

export default fp<ConfigOptions>(async function config (fastify, opts) {
  const config = loadConfig(opts.env ?? process.env)
  if (config.JWT_SECRET_GENERATED) {
    fastify.log.warn('JWT_SECRET is not set: using a random development secret for this process')
  }
  fastify.decorate('config', config)
}, { name: 'config' })
