import t from 'tap'
import { logoutKill } from '../../scripts/drills/logout-kill.js'
import { assertDrill, drillContext } from '../helpers/drill.js'

t.test('logouts acknowledged just before their master dies stay logged out', async (t) => {
  const result = await logoutKill(drillContext(t, 410), { users: 30, sessions: 4 })
  assertDrill(t, result)
})
