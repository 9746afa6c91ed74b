import t from 'tap'
import { mastersDown } from '../../scripts/drills/masters-down.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

t.test('all masters down, then back: 503 throughout, memory flat, sessions intact',
  async (t) => {
    const result = await mastersDown(drillContext(t, 430), {
      durationMs: 8_000, users: 24, rate: 150
    })
    assertDrill(t, result)
  })
