import t from 'tap'
import { masterKill } from '../../scripts/drills/master-kill.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

t.test('a master killed under steady load: its shard answers 503 briefly, nothing lost',
  async (t) => {
    const result = await masterKill(drillContext(t, 400), {
      durationMs: 10_000, killAtMs: 2_000, users: 30, clients: 12
    })
    assertDrill(t, result)
  })
