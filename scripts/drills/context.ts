import type { FastifyInstance } from 'fastify'
import type { Defer } from './cluster.js'

// What a drill gets from whoever runs it: the test (tap, small durations, assertions) or
// run.ts (full durations, printed figures). Both build latch in-process the same way.

/** The bounds latch ships with; drills must not run with the suite's relaxed ones. */
export const PRODUCTION_BOUNDS = { CLUSTER_TIMEOUT_MS: '750', WAIT_TIMEOUT_MS: '250' }

export interface DrillContext {
  /** First port of the drill's own cluster (six ports). */
  base: number
  /** latch on the given settings, closed when the drill's run ends. */
  latch: (env: Record<string, string>) => Promise<FastifyInstance>
  /** Runs `fn` when the drill's run ends, newest first, whatever the outcome. */
  defer: Defer
  /** One line of progress or figures. */
  log: (line: string) => void
}

export interface Check {
  name: string
  pass: boolean
  /** The figure behind the verdict, when the name does not say it. */
  detail?: string
}

export interface DrillResult {
  figures: Record<string, number | string>
  checks: Check[]
}

export function check (name: string, pass: boolean, detail?: string): Check {
  return detail === undefined ? { name, pass } : { name, pass, detail }
}

/** `figures` as aligned "name: value" lines. */
export function formatFigures (figures: DrillResult['figures']): string[] {
  const width = Math.max(...Object.keys(figures).map((name) => name.length))
  return Object.entries(figures).map(([name, value]) => `${name.padEnd(width)}  ${value}`)
}

export const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `condition` every 100 ms; the time it took, or an error after `ms`. */
export async function until (
  what: string, condition: () => Promise<boolean>, ms: number
): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (await condition()) return Date.now() - start
    await sleep(100)
  }
  throw new Error(`${what}: not within ${ms} ms`)
}
