// The console's TypeScript and Vue templates type-check (vite build does not check
// types; the root tsconfig does not include ui/).
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

t.test('npm run typecheck:ui (vue-tsc) passes', async t => {
  const child = spawn('npx', ['vue-tsc', '--noEmit', '-p', 'ui/tsconfig.json'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', d => {
    out += String(d)
  })
  child.stderr.on('data', d => {
    out += String(d)
  })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  t.equal(code, 0, out === '' ? 'no type error' : out)
})
