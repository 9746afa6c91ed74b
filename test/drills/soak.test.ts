import t from 'tap'
import { soak } from '../../scripts/drills/soak.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

t.test('a minute of mixed traffic: memory flat, nothing immortal but users', async (t) => {
  const result = await soak(drillContext(t, 460), { durationMs: 60_000, users: 30, clients: 6 })
  assertDrill(t, result)
})
