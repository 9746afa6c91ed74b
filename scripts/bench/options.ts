import { parseArgs } from 'node:util'

export interface BenchOptions {
  /** Seconds per measured run of a scenario. */
  duration: number
  /** Seconds of the discarded run before a scenario's first round. */
  warmup: number
  rounds: number
  users: number
  /** Extra sessions inserted for the me@1M scenario and the memory figure. */
  sessions: number
  instances: number
  separatePorts: boolean
  quick: boolean
}

const USAGE = `usage: npm run bench -- [--quick] [--duration S] [--rounds N] [--users N]
       [--sessions N] [--instances N [--separate-ports]]`

const FULL = { duration: 5, warmup: 2, rounds: 3, users: 1000, sessions: 1_000_000 }
// A smoke run: every scenario for about a second, with smaller populations.
const QUICK = { duration: 1, warmup: 0.5, rounds: 1, users: 200, sessions: 100_000 }

function number (name: string, raw: string | undefined, fallback: number, min: number) {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}\n${USAGE}`)
  }
  return value
}

function integer (name: string, raw: string | undefined, fallback: number, min: number) {
  const value = number(name, raw, fallback, min)
  if (!Number.isInteger(value)) throw new Error(`--${name} must be a whole number\n${USAGE}`)
  return value
}

export function parseOptions (args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      users: { type: 'string' },
      sessions: { type: 'string' },
      instances: { type: 'string' },
      'separate-ports': { type: 'boolean', default: false }
    }
  })
  const base = values.quick ? QUICK : FULL
  const options: BenchOptions = {
    duration: number('duration', values.duration, base.duration, 0.5),
    warmup: base.warmup,
    rounds: integer('rounds', values.rounds, base.rounds, 1),
    // The refresh scenario keeps one request in flight per user on 64 connections.
    users: integer('users', values.users, base.users, 128),
    sessions: integer('sessions', values.sessions, base.sessions, 1),
    instances: integer('instances', values.instances, 1, 1),
    separatePorts: values['separate-ports'],
    quick: values.quick
  }
  if (options.separatePorts && options.instances < 2) {
    throw new Error(`--separate-ports needs --instances 2 or more\n${USAGE}`)
  }
  return options
}
