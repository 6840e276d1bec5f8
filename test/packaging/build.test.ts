// Production runs compiled JavaScript: `npm run build` writes dist/, and the
// image's layout (dist/, bin/, package.json, node_modules, no src/ and no
// TypeScript loader) serves /health with plain `node dist/src/server.js`, drains
// on SIGTERM, and runs the CLI from dist.
import t from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, startChild } from '../helpers/child-process.ts'
import { freePort } from '../helpers/gateway-process.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'

async function run(
  file: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> }
): Promise<{ code: number; output: string }> {
  return await new Promise(resolve => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '', ...opts.env }, timeout: 240000 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: stdout + stderr })
      }
    )
  })
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(e => e.isFile() && e.name.endsWith('.js'))
    .map(e => join(e.parentPath, e.name))
}

t.test('npm run build output starts without a TypeScript loader, in the image layout', async t => {
  const build = await run('npm', ['run', 'build'], { cwd: ROOT })
  t.equal(build.code, 0, `npm run build succeeds ${build.output.slice(-1500)}`)

  const dist = join(ROOT, 'dist')
  const files = jsFiles(dist)
  t.ok(
    files.some(f => f.endsWith(join('dist', 'src', 'server.js'))),
    'dist/src/server.js is built'
  )
  t.ok(
    files.some(f => f.endsWith(join('dist', 'routes', 'index.js'))),
    'the routes are built'
  )
  const tsImports = files.filter(f =>
    /\bfrom\s+['"]\.{1,2}\/[^'"]+\.ts['"]|import\(\s*['"]\.{1,2}\/[^'"]+\.ts['"]/.test(readFileSync(f, 'utf8'))
  )
  t.same(tsImports, [], 'relative imports are rewritten to .js')

  // /app as the Dockerfile's runtime stage lays it out
  const app = mkdtempSync(join(tmpdir(), 'vg-image-'))
  t.teardown(() => {
    rmSync(app, { recursive: true, force: true })
  })
  cpSync(dist, join(app, 'dist'), { recursive: true })
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'))
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'))

  const db = await createTestDatabase(t)
  const port = await freePort()
  const server = startChild(process.execPath, ['dist/src/server.js'], {
    cwd: app,
    env: { HOST: '127.0.0.1', PORT: String(port), AUTH_DISABLED: 'true', MARIADB_URL: db.url, LOG_LEVEL: 'warn' }
  })
  const { child, output, exited } = server
  t.teardown(() => {
    child.kill('SIGKILL')
  })

  let health: Response | undefined
  while (health === undefined && child.exitCode === null) {
    health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined)
    if (health === undefined) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.ok(health !== undefined, `the built server answers (${output().slice(-1500)})`)
  t.same(await health?.json(), { status: 'ok', provider: 'mariadb', mariadb: 'connected', qdrant: 'not_configured' })
  const caps = (await (await fetch(`http://127.0.0.1:${port}/capabilities`)).json()) as { version: string }
  t.equal(
    caps.version,
    (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    'reads its version from package.json beside dist/'
  )
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'drains and exits 0 on SIGTERM')

  const cli = await run(process.execPath, ['bin/vector-gateway.js', 'status'], {
    cwd: app,
    env: { MARIADB_URL: db.url, AUTH_DISABLED: 'true' }
  })
  t.equal(cli.code, 0, `the CLI runs from dist/ when there are no sources (${cli.output.slice(-800)})`)
  t.match(cli.output, /mariadb/i, 'and reports the storage status')
})
