// The console's TypeScript and Vue templates type-check (vite build does not check
// types; the root tsconfig does not include ui/).
import t from 'tap'
import { runChild } from '../helpers/child-process.ts'

t.test('npm run typecheck:ui (vue-tsc) passes', async t => {
  const { code, output } = await runChild('npx', ['vue-tsc', '--noEmit', '-p', 'ui/tsconfig.json'])
  t.equal(code, 0, output === '' ? 'no type error' : output)
})
