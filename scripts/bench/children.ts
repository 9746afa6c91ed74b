import { spawn, type ChildProcess } from 'node:child_process'
import type { WriteStream } from 'node:fs'
import net from 'node:net'

// Every process the bench starts is kept here, so that cleanup stops exactly those, by
// pid, however the run ends.
const children = new Set<ChildProcess>()
const cleanups: Array<() => Promise<void>> = []
let cleaning: Promise<void> | undefined

/** Runs `fn` at cleanup, after the child processes stopped, newest first. */
export function onCleanup (fn: () => Promise<void>): void {
  cleanups.unshift(fn)
}

export interface Spawned {
  name: string
  child: ChildProcess
  pid: number
  /** Where its output goes, for error messages. */
  log: string
}

/**
 * Starts `node args…` with its output appended to `log`. `ipc` opens the channel through
 * which the launcher says that all of its workers listen.
 */
export function spawnNode (
  name: string, args: string[], env: Record<string, string>, log: WriteStream, ipc = false
): Spawned {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe']
  })
  if (child.pid === undefined) throw new Error(`${name} did not start`)
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.stdout?.pipe(log, { end: false })
  child.stderr?.pipe(log, { end: false })
  return { name, child, pid: child.pid, log: String(log.path) }
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Stops every child process, then runs the cleanups. Safe to call more than once. */
export function cleanup (): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map(stop))
    for (const fn of cleanups) {
      await fn().catch((err: unknown) => console.error('cleanup failed:', err))
    }
  })()
  return cleaning
}

export function portInUse (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `url` until it answers 200; fails early when the process exits. */
export async function waitHttp (spawned: Spawned, url: string, maxMs = 30_000) {
  const deadline = Date.now() + maxMs
  while (Date.now() < deadline) {
    if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) {
      throw new Error(`${spawned.name} exited during start (code ${spawned.child.exitCode});` +
        ` its output is in ${spawned.log}`)
    }
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => undefined)
    await res?.arrayBuffer()
    if (res?.status === 200) return
    await sleep(100)
  }
  throw new Error(`${spawned.name} was not ready at ${url} within ${maxMs / 1000} s`)
}

/** Resolves when a launcher reports that all its workers listen. */
export function waitLaunched (spawned: Spawned, maxMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spawned.name}: workers not up`)), maxMs)
    spawned.child.once('message', () => { clearTimeout(timer); resolve() })
    spawned.child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${spawned.name} exited during start (code ${code});` +
        ` its output is in ${spawned.log}`))
    })
  })
}

/** Runs a command with inherited output; rejects unless it exits 0. */
export function run (command: string, args: string[], env: Record<string, string>) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit']
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code === 0) resolve()
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))
    })
  })
}
