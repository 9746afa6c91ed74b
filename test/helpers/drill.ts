import { createWriteStream, type WriteStream } from 'node:fs'
import path from 'node:path'
import type { FastifyServerOptions } from 'fastify'
import { options } from '../../app.js'
import {
  formatFigures, type DrillContext, type DrillResult
} from '../../scripts/drills/context.js'
import { build, testEnv } from './app.js'

// The fault drills of scripts/drills, run by tap at small sizes: the drill builds its
// own cluster on TEST_CLUSTER_PORT_BASE + offset, latch comes from build(), figures go
// to t.comment and every check of the drill becomes an assertion.

interface Test {
  name: string
  teardown: (fn: () => unknown) => void
  comment: (...message: unknown[]) => void
  ok: (value: unknown, message: string, extra: Record<string, unknown>) => boolean
}

const sharedBase = Number(process.env.TEST_CLUSTER_PORT_BASE ?? 7100)

let logFile: WriteStream | undefined

/**
 * Drills send thousands of requests: their servers log at warn (failures, cluster
 * events), still into the directory whose logs the test run checks for secrets.
 */
function drillLogger (): FastifyServerOptions['logger'] {
  const dir = process.env.LATCH_TEST_LOG_DIR
  if (dir === undefined || dir === '') return false
  logFile ??= createWriteStream(path.join(dir, `drill-${process.pid}.log`), { flags: 'a' })
  return { ...(options.logger as object), level: 'warn', stream: logFile }
}

export function drillContext (t: Test, offset: number): DrillContext {
  return {
    base: sharedBase + offset,
    latch: async (env) => await build(t, testEnv(env), { logger: drillLogger() }),
    defer: (fn) => t.teardown(fn),
    log: (line) => t.comment(line)
  }
}

/** Prints the figures and asserts every check. */
export function assertDrill (t: Test, result: DrillResult): void {
  for (const line of formatFigures(result.figures)) t.comment(line)
  for (const { name, pass, detail } of result.checks) {
    t.ok(pass, name, detail === undefined ? {} : { detail })
  }
}
