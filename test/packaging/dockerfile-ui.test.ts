// The Docker image carries the built admin console: a build stage copies ui/ and
// runs `npm run build:ui`, and the final stage copies that stage's ui/dist to
// /app/ui/dist, where src/plugins/admin-ui.ts finds it. (The rest of the
// Dockerfile is checked by dockerfile.test.ts.)
import t from 'tap'
import { readFileSync } from 'node:fs'

const text = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map(l => l.trim())
  .filter(l => l !== '' && !l.startsWith('#'))
const stages: Array<{ name: string; lines: string[] }> = []
for (const line of text) {
  const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line)
  if (from !== null) stages.push({ name: (from[1] ?? '').toLowerCase(), lines: [] })
  else stages.at(-1)?.lines.push(line)
}
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>
}

t.test('a build stage builds the console, the final stage copies only its output', async t => {
  const builder = stages.find(s => s.lines.some(l => /^RUN\s+.*npm run build:ui\b/.test(l)))
  t.ok(builder, 'a stage runs npm run build:ui')
  if (builder === undefined) return
  const copyUi = builder.lines.findIndex(l => /^COPY\s+ui\s+\.\/ui\/?$/.test(l))
  const install = builder.lines.findIndex(l => /^RUN\s+npm ci\b/.test(l) && !/--omit=dev/.test(l))
  const build = builder.lines.findIndex(l => /npm run build:ui\b/.test(l))
  t.ok(install >= 0 && install < build, 'installs the dev dependencies (vite, vue) first')
  t.ok(copyUi >= 0 && copyUi < build, 'copies ui/ before building')
  t.match(pkg.scripts['build:ui'], /vite build --config ui\/vite\.config\.ts/)
  const final = stages.at(-1)!
  t.not(final, builder, 'the builder is not the final stage')
  t.ok(
    final.lines.some(l => new RegExp(`^COPY\\s+--from=${builder.name}\\s+/app/ui/dist\\s+\\./ui/dist/?$`, 'i').test(l)),
    'final stage: COPY --from=<builder> /app/ui/dist ./ui/dist'
  )
  t.notOk(
    final.lines.some(l => /^COPY\s+(?!--from)[^\n]*\bui\b/.test(l)),
    'the final stage takes no ui sources from the context'
  )
})
