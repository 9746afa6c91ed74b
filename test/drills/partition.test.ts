import t from 'tap'
import { partition } from '../../scripts/drills/partition.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

// Needs root on Linux and iproute2: the drill gives each node a network namespace of its
// own. Without them it fails and says why; it is not skipped.
t.test('a master partitioned from its replica: its writes refused, nothing lost or revived',
  async (t) => {
    const result = await partition(drillContext(t, 450), {
      durationMs: 5_000, users: 24, writers: 4
    })
    assertDrill(t, result)
  })
