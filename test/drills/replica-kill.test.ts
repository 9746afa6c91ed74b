import t from 'tap'
import { replicaKill } from '../../scripts/drills/replica-kill.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

t.test('a replica killed: reads unaffected, writes on its shard refused fast', async (t) => {
  const result = await replicaKill(drillContext(t, 420), {
    durationMs: 4_000, users: 24, clients: 8
  })
  assertDrill(t, result)
})
