import t from 'tap'
import { slowNode } from '../../scripts/drills/slow-node.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

t.test('a slow master: its shard times out as 503, the other shards keep their latency',
  async (t) => {
    const result = await slowNode(drillContext(t, 440), {
      durationMs: 2_000, users: 24, clientsPerShard: 3
    })
    assertDrill(t, result)
  })
