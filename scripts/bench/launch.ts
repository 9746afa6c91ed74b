// Runs N copies of a server on one port: node dist/scripts/bench/launch.js N MODULE ARGS…
// Each worker runs MODULE with ARGS as its own command line, so a worker of
// `…/fastify-cli/cli.js start -p 3700 dist/app.js` is exactly `fastify start`.
//
// Why node:cluster: fastify-cli has no cluster mode, and Node 20 cannot set SO_REUSEPORT
// (listen's reusePort arrived in Node 22.12). Under node:cluster the primary owns the
// listening socket and hands each new connection to the next worker in turn (round-robin
// is the default on Linux), so the 64 keep-alive connections spread evenly.
import cluster from 'node:cluster'

const [countArg, exec, ...args] = process.argv.slice(2)
const count = Number(countArg)
if (!Number.isInteger(count) || count < 1 || exec === undefined) {
  console.error('usage: launch.js N MODULE [ARGS…]')
  process.exit(2)
}

let stopping = false
let listening = 0

function stopAll (code: number): void {
  stopping = true
  for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM')
  process.exitCode = code
}

cluster.setupPrimary({ exec, args })
cluster.on('listening', () => {
  listening++
  // The bench waits for this before it sends load, so no worker misses connections.
  if (listening === count) process.send?.('listening')
})
cluster.on('exit', (worker, code) => {
  if (!stopping) {
    console.error(`launch: worker ${worker.process.pid} exited with ${code}; stopping all`)
    stopAll(1)
  }
})
process.on('SIGTERM', () => stopAll(0))
process.on('SIGINT', () => stopAll(0))
for (let i = 0; i < count; i++) cluster.fork()
