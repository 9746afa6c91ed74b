// npm run drill -- NAME [--duration SECONDS]
// Runs one fault drill at full length on a cluster of its own (ports DRILL_PORT_BASE,
// default 8000, plus the drill's offset) against latch built in this process, prints its
// figures and checks, and removes everything it started however it ends. Exit 1 when a
// check fails. `npm run drill` alone lists the drills.
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app, { options } from '../../app.js'
import { formatFigures, type DrillContext, type DrillResult } from './context.js'
import { drills } from './registry.js'

const cleanups: Array<() => unknown> = []

async function cleanup (): Promise<void> {
  for (const fn of cleanups.splice(0)) {
    try {
      await fn()
    } catch (err) {
      console.error('cleanup failed:', err)
    }
  }
}

/** latch as the tests build it, with the limits out of the way of the drill's load. */
async function latch (env: Record<string, string>): Promise<FastifyInstance> {
  const server = Fastify({ ...options, logger: { ...(options.logger as object), level: 'error' } })
  cleanups.unshift(async () => await server.close())
  await server.register(fp(app), {
    env: {
      JWT_SECRET: randomBytes(48).toString('base64url'),
      KEY_PREFIX: `drill:${randomBytes(4).toString('hex')}:`,
      LOGIN_RATE_PER_IP: '100000',
      REGISTER_RATE_PER_IP: '100000',
      REFRESH_RATE_PER_SESSION: '100000',
      LOGIN_FAILURES_PER_ACCOUNT: '100000',
      ...env
    }
  })
  await server.ready()
  return server
}

function parseArgs (argv: string[]): { name: string, durationMs?: number } {
  const [name = '', flag, value] = argv
  if (flag === undefined) return { name }
  const seconds = Number(value)
  if (flag !== '--duration' || !(seconds > 0)) throw new Error('usage: run.js NAME [--duration S]')
  return { name, durationMs: seconds * 1000 }
}

function print (name: string, result: DrillResult, ms: number): boolean {
  console.log(`\n${name}: figures`)
  for (const line of formatFigures(result.figures)) console.log(`  ${line}`)
  console.log(`${name}: checks`)
  for (const c of result.checks) {
    const detail = c.detail === undefined ? '' : ` (${c.detail})`
    console.log(`  ${c.pass ? 'pass' : 'FAIL'}  ${c.name}${detail}`)
  }
  const passed = result.checks.every((c) => c.pass)
  console.log(`${name}: ${passed ? 'passed' : 'FAILED'} in ${(ms / 1000).toFixed(1)} s`)
  return passed
}

async function main (): Promise<number> {
  const { name, durationMs } = parseArgs(process.argv.slice(2))
  const drill = drills[name]
  if (drill === undefined) {
    console.log('usage: npm run drill -- NAME [--duration SECONDS]\n')
    for (const [known, { summary }] of Object.entries(drills)) {
      console.log(`  ${known.padEnd(14)} ${summary}`)
    }
    return name === '' ? 0 : 2
  }
  const context: DrillContext = {
    base: Number(process.env.DRILL_PORT_BASE ?? 8000) + drill.offset,
    latch,
    defer: (fn) => { cleanups.unshift(fn) },
    log: (line) => console.log(`${name}: ${line}`)
  }
  const started = Date.now()
  const result = await drill.run(context, durationMs)
  return print(name, result, Date.now() - started) ? 0 : 1
}

// However the run ends, the drill's nodes, namespaces and servers go with it.
function bail (code: number): void {
  cleanup().then(() => process.exit(code), () => process.exit(code))
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => bail(130))
process.once('uncaughtException', (err) => { console.error(err); bail(1) })
process.once('unhandledRejection', (err) => { console.error(err); bail(1) })

try {
  process.exitCode = await main()
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  await cleanup()
}
