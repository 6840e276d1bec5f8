// The Dockerfile, checked without a Docker engine: its stages (build with tsc,
// production dependencies, runtime), user, port, command and healthcheck (run
// here against stand-in HTTP servers), that every path it copies exists and
// survives .dockerignore, and that the code in the image (dist/, compiled from
// tsconfig.build.json's folders, and bin/) needs nothing the image lacks.
import t from 'tap'
import { exitCode, withServer } from './healthcheck-harness.ts'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigSchema } from '../../src/config.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

interface Instruction {
  keyword: string
  args: string
  line: number
}
interface Stage {
  image: string
  name?: string
  instructions: Instruction[]
}

/** Dockerfile instructions, with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = []
  let pending: { text: string; line: number } | undefined
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '')
    const trimmed = line.trim()
    if (trimmed.startsWith('#') || (pending === undefined && trimmed === '')) return
    const continued = /\\\s*$/.test(line)
    const body = continued ? line.replace(/\\\s*$/, '') : line
    pending =
      pending === undefined
        ? { text: body, line: i + 1 }
        : { text: `${pending.text} ${body.trim()}`, line: pending.line }
    if (continued) return
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(pending.text) as RegExpExecArray
    out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: pending.line })
    pending = undefined
  })
  return out
}

function stages(list: Instruction[]): Stage[] {
  const result: Stage[] = []
  for (const ins of list) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args) as RegExpExecArray
      result.push({ image: m[1], name: m[2]?.toLowerCase(), instructions: [] })
    } else if (result.length > 0) {
      result.at(-1)?.instructions.push(ins)
    }
  }
  return result
}

/** Flags (--name=value) and the remaining arguments (JSON or whitespace form). */
function splitArgs(args: string): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {}
  let text = args
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(text); m !== null; m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(text)) {
    flags[m[1]] = m[2] ?? 'true'
    text = text.slice(m[0].length)
  }
  const rest = text.startsWith('[') ? (JSON.parse(text) as string[]) : text.split(/\s+/).filter(s => s !== '')
  return { flags, rest }
}

/** HEALTHCHECK's options and its command (exec form only). */
function healthcheck(args: string): { options: Record<string, string>; command: string[] } {
  const m = /^((?:--\S+\s+)*)CMD\s+(\[[\s\S]*\])$/.exec(args)
  if (m === null) throw new Error(`HEALTHCHECK is not "[options] CMD [exec form]": ${args}`)
  const options = Object.fromEntries(
    m[1]
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(o => {
        const [k, v] = o.replace(/^--/, '').split('=')
        return [k, v]
      })
  )
  return { options, command: JSON.parse(m[2]) as string[] }
}

const isGlob = (p: string): boolean => /[*?[]/.test(p)
/** `name[x]` (the optional-file idiom) → `namex`; other globs → undefined. */
const literalOf = (p: string): string | undefined => {
  const lit = p.replace(/\[([^\]^!])\]/g, '$1')
  return isGlob(lit) ? undefined : lit
}
const clean = (p: string): string => posix.normalize(p).replace(/^\.\//, '').replace(/\/$/, '')

/** .dockerignore as ordered (regex, negated) rules; a rule on a folder covers what is inside it. */
function dockerignore(): (path: string) => boolean {
  const rules = read('.dockerignore')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
    .map(l => {
      const negated = l.startsWith('!')
      const pattern = clean(l.replace(/^!/, '').replace(/^\//, ''))
      const source = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map(part =>
          part === '**/' || part === '**'
            ? '(?:.*/)?'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|\\]/g, '\\$&')
        )
        .join('')
      return { regex: new RegExp(`^${source}(?:/.*)?$`), negated }
    })
  return path => {
    let excluded = false
    for (const rule of rules) if (rule.regex.test(path)) excluded = !rule.negated
    return excluded
  }
}

function filesUnder(path: string): string[] {
  const abs = join(root, path)
  if (!statSync(abs).isDirectory()) return [path]
  return readdirSync(abs).flatMap(entry => filesUnder(posix.join(path, entry)))
}

const dockerfile = instructions(read('Dockerfile'))
const allStages = stages(dockerfile)
const final = allStages.at(-1) as Stage
const inFinal = (keyword: string): Instruction[] => final.instructions.filter(i => i.keyword === keyword)
const PORT_DEFAULT = (ConfigSchema.properties.PORT as unknown as { default: number }).default
const pkg = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  engines: { node: string }
}
const buildConfig = JSON.parse(read('tsconfig.build.json')) as {
  include: string[]
  compilerOptions: { outDir: string; rootDir: string; rewriteRelativeImportExtensions?: boolean }
}
const NODE_IMAGE = 'node:24-bookworm-slim'
const stageNamed = (name: string): Stage | undefined => allStages.find(s => s.name === name)
const runsIn = (stage: Stage | undefined): string[] =>
  stage?.instructions.filter(i => i.keyword === 'RUN').map(i => i.args) ?? []

/** Context paths the final stage copies (globs expanded against the repository; absent optional ones dropped). */
function copiedFromContext(): string[] {
  const top = readdirSync(root)
  return inFinal('COPY').flatMap(ins => {
    const { flags, rest } = splitArgs(ins.args)
    if (flags.from !== undefined) return []
    return rest.slice(0, -1).flatMap(src => {
      if (!isGlob(src)) return [clean(src)]
      const regex = new RegExp(
        `^${src
          .replace(/[.+^${}()|\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`
      )
      return top.filter(name => regex.test(name))
    })
  })
}

t.test('multi-stage build on the Node 24 LTS slim image, matching engines and @types/node', async t => {
  t.ok(allStages.length >= 3, `${allStages.length} stages`)
  for (const stage of allStages) t.equal(stage.image, NODE_IMAGE, `stage ${stage.name ?? '?'} image`)
  t.match(pkg.engines.node, />=22(\.\d+)*$/, `engines (${pkg.engines.node}) admits Node 24`)
  t.match(pkg.devDependencies['@types/node'], /^\^?24\./, '@types/node is the 24 line')
  const names = allStages.map(s => s.name).filter(n => n !== undefined)
  t.equal(new Set(names).size, names.length, 'stage names are unique')
})

t.test('the build stage compiles with npm run build from the full lockfile install', async t => {
  const build = stageNamed('build')
  t.ok(build, 'a stage named build')
  const runs = runsIn(build)
  const install = runs.findIndex(r => /\bnpm ci\b/.test(r))
  t.ok(install >= 0 && !/--omit=dev\b/.test(runs[install]), 'npm ci with the dev dependencies (the compiler)')
  t.ok(runs.findIndex(r => /^npm run build$/.test(r)) > install, 'then npm run build')
  t.equal(pkg.scripts.build, 'tsc -p tsconfig.build.json', 'the build script is tsc with tsconfig.build.json')
  t.equal(buildConfig.compilerOptions.outDir, 'dist')
  t.equal(buildConfig.compilerOptions.rootDir, '.', 'dist/ keeps the repository layout (dist/src, dist/routes)')
  t.equal(buildConfig.compilerOptions.rewriteRelativeImportExtensions, true, "the sources' .ts imports become .js")
  const copied =
    build?.instructions.filter(i => i.keyword === 'COPY').flatMap(i => splitArgs(i.args).rest.slice(0, -1)) ?? []
  for (const path of ['tsconfig.json', 'tsconfig.build.json', ...buildConfig.include])
    t.ok(copied.includes(path), `the build stage gets ${path}`)
})

t.test('the deps stage installs exactly the production dependencies', async t => {
  const deps = stageNamed('deps')
  t.ok(deps, 'a stage named deps')
  t.ok(
    runsIn(deps).some(r => /\bnpm ci\b/.test(r) && /--omit=dev\b/.test(r)),
    'npm ci --omit=dev'
  )
  const copied =
    deps?.instructions.filter(i => i.keyword === 'COPY').flatMap(i => splitArgs(i.args).rest.slice(0, -1)) ?? []
  t.ok(copied.includes('package.json') && copied.includes('package-lock.json'), 'copies package.json and the lockfile')
  t.notOk(pkg.dependencies.tsx, 'tsx is not a production dependency (production runs dist/)')
  t.notOk(pkg.dependencies.typescript, 'nor is the compiler')
})

t.test('the runtime stage has dist, production node_modules and no sources', async t => {
  const froms = inFinal('COPY')
    .map(i => splitArgs(i.args))
    .filter(a => a.flags.from !== undefined)
  t.ok(
    froms.some(a => a.flags.from === 'deps' && a.rest[0] === '/app/node_modules'),
    'node_modules from the deps stage'
  )
  t.ok(
    froms.some(a => a.flags.from === 'build' && a.rest[0] === '/app/dist'),
    'dist from the build stage'
  )
  const fromContext = copiedFromContext()
  for (const path of [...buildConfig.include, 'tsconfig.json', 'tsconfig.build.json'])
    t.notOk(fromContext.includes(path), `no ${path} in the image`)
  t.equal(inFinal('RUN').length, 0, 'nothing is installed or built in the runtime stage')
})

t.test('the final stage runs as the unprivileged node user in production mode', async t => {
  const user = inFinal('USER').at(-1)?.args.split(':')[0]
  t.equal(user, 'node')
  t.notOk(['root', '0', '', undefined].includes(user), 'not root')
  const env = inFinal('ENV')
    .map(i => i.args)
    .join(' ')
  t.match(env, /(^|\s)NODE_ENV[= ]production(\s|$)/, 'NODE_ENV=production')
})

t.test('EXPOSE is the default PORT', async t => {
  const exposed = inFinal('EXPOSE')
    .flatMap(i => i.args.split(/\s+/))
    .map(p => Number(p.replace(/\/tcp$/, '')))
  t.same(exposed, [PORT_DEFAULT])
  t.equal(PORT_DEFAULT, 8090)
})

t.test('CMD runs the compiled dist/src/server.js the way `npm start` does', async t => {
  const cmd = inFinal('CMD').at(-1)
  t.ok(cmd?.args.startsWith('['), 'exec form (node is PID 1 and receives SIGTERM)')
  const argv = JSON.parse(cmd?.args ?? '[]') as string[]
  t.same(argv, ['node', '--enable-source-maps', 'dist/src/server.js'])
  t.same(argv, pkg.scripts.start.split(/\s+/), 'same as the start script')
  t.notMatch(argv.join(' '), /tsx|\.ts\b/, 'no TypeScript loader')
  t.ok(
    existsSync(join(root, 'src/server.ts')) && buildConfig.include.includes('src'),
    'dist/src/server.js is compiled from src/server.ts'
  )
  t.equal(inFinal('ENTRYPOINT').length, 0, 'no ENTRYPOINT wraps it')
  const workdir = inFinal('WORKDIR').at(-1)?.args
  t.equal(workdir, '/app', 'relative paths resolve in /app')
})

t.test('COPY sources exist, survive .dockerignore and keep the repository layout', async t => {
  const ignored = dockerignore()
  const seen: string[] = []
  allStages.forEach((stage, index) => {
    for (const ins of stage.instructions.filter(i => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      t.equal(ins.keyword, 'COPY', `line ${ins.line}: COPY, not ADD`)
      const { flags, rest } = splitArgs(ins.args)
      const dest = rest.at(-1) as string
      const sources = rest.slice(0, -1)
      if (flags.from !== undefined) {
        const from = allStages.findIndex(s => s.name === flags.from.toLowerCase())
        t.ok(from >= 0 && from < index, `line ${ins.line}: --from=${flags.from} is an earlier stage`)
        const workdir = allStages[from]?.instructions.filter(i => i.keyword === 'WORKDIR').at(-1)?.args
        for (const src of sources)
          t.ok(
            workdir !== undefined && src.startsWith(`${workdir}/`),
            `line ${ins.line}: ${src} is in that stage's WORKDIR`
          )
        continue
      }
      if (sources.length > 1) t.ok(dest.endsWith('/'), `line ${ins.line}: several sources go to a folder`)
      for (const src of sources) {
        const literal = isGlob(src) ? literalOf(src) : clean(src)
        t.ok(literal !== undefined, `line ${ins.line}: ${src} is a plain path or an optional name[x] glob`)
        if (literal === undefined) continue
        seen.push(literal)
        const exists = existsSync(join(root, literal))
        if (!isGlob(src)) t.ok(exists, `line ${ins.line}: ${src} exists`)
        if (!exists) continue
        const isDir = statSync(join(root, literal)).isDirectory()
        t.equal(
          clean(isDir ? dest : posix.join(dest, literal)),
          literal,
          `line ${ins.line}: ${literal} keeps its place`
        )
        const lost = filesUnder(literal).filter(ignored)
        t.same(lost, [], `line ${ins.line}: ${literal} is not excluded by .dockerignore`)
      }
    }
  })
  for (const needed of [
    'package.json',
    'package-lock.json',
    'tsconfig.build.json',
    'src',
    'routes',
    'openapi.yaml',
    'bin'
  ]) {
    t.ok(
      seen.includes(needed),
      `the image gets ${needed}${needed === 'bin' || needed === 'openapi.yaml' ? ' (when present)' : ''}`
    )
  }
})

t.test('.dockerignore keeps local and test-only files out of the build context', async t => {
  const ignored = dockerignore()
  for (const path of [
    'node_modules',
    '.local',
    '.git',
    'test',
    'bench',
    'coverage',
    '.tap',
    '.env',
    'node_modules/x/index.js',
    'test/packaging/dockerfile.test.ts'
  ]) {
    t.ok(ignored(path), `${path} is excluded`)
  }
  t.notOk(ignored('src/server.ts'), 'src stays')
})

t.test('the code in the image (dist/ and bin/) needs nothing the image lacks', async t => {
  // dist/ is compiled one to one from tsconfig.build.json's folders: check their sources
  const copied = [...copiedFromContext(), ...buildConfig.include]
  const inImage = (abs: string): boolean => {
    const rel = relative(root, abs).split('\\').join('/')
    return copied.some(c => rel === c || rel.startsWith(`${c}/`))
  }
  // bin/ loads tsx only when src/ is beside it (a checkout); the image has no src/
  const sourcesInImage = copiedFromContext().includes('src')
  t.notOk(sourcesInImage, 'no src/ in the image, so bin/ runs dist/src/cli.js')
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> }
  const builtins = new Set(builtinModules)
  const files = copied
    .filter(c => statSync(join(root, c)).isDirectory())
    .flatMap(filesUnder)
    .filter(f => /\.(ts|js|mjs|cjs)$/.test(f))
  t.ok(files.length > 0, `${files.length} source files`)
  const missing: string[] = []
  const devOnly: string[] = []
  for (const file of files) {
    const text = read(file).replace(/^\s*(?:import|export)\s+type\b[\s\S]*?from\s+['"][^'"]+['"]/gm, '')
    const specifiers = [
      ...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\)\s*\(\s*)['"]([^'"\n]+)['"]/g)
    ].map(m => m[1])
    for (const spec of specifiers) {
      if (spec.startsWith('.')) {
        const target = resolve(join(root, dirname(file)), spec)
        // (a target missing altogether is the type checker's business)
        // a compiled file runs from dist/<its path>: a path relative to that place counts too (src/version.ts finds package.json from both)
        const compiled = buildConfig.include.some(c => file.startsWith(`${c}/`))
        const fromDist = resolve(join(root, 'dist', dirname(file)), spec)
        if (!inImage(target) && !(compiled && relative(root, fromDist) === 'package.json'))
          missing.push(`${file} -> ${spec}`)
      } else if (!spec.startsWith('node:') && !builtins.has(spec.split('/')[0])) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
        const entry = lock.packages[`node_modules/${name}`]
        if (file.startsWith('bin/') && name === 'tsx' && !sourcesInImage) continue
        if (entry === undefined || entry.dev === true) devOnly.push(`${file} -> ${name}`)
      }
    }
  }
  t.same(missing, [], 'relative imports stay inside the copied paths')
  t.same(devOnly, [], 'packages are in the production install (npm ci --omit=dev)')
})

// ---------------------------------------------------------------- HEALTHCHECK, run for real

t.test('HEALTHCHECK probes a health route with node fetch', async t => {
  const checks = inFinal('HEALTHCHECK')
  t.equal(checks.length, 1, 'one HEALTHCHECK in the final stage')
  const { options, command } = healthcheck(checks[0].args)
  for (const key of ['interval', 'timeout', 'start-period', 'retries']) t.ok(options[key], `--${key} set`)
  t.same(command.slice(0, 2), ['node', '-e'], 'node itself (no curl in slim images)')
  const script = command[2]
  const path = /\/health[a-z/]*/.exec(script)?.[0]
  const routes = [...read('routes/health.ts').matchAll(/\.get\(\s*['"`]([^'"`]+)['"`]/g)].map(m => m[1])
  t.ok(
    path !== undefined && routes.includes(path) && ['/health/live', '/health'].includes(path),
    `probes ${path}, a route in routes/health.ts`
  )

  await withServer(
    (_req, res) => res.writeHead(200).end('{"status":"ok"}'),
    async (port, requests) => {
      t.equal(
        await exitCode(process.execPath, ['-e', script], { PORT: String(port) }),
        0,
        'healthy on 200 (follows PORT)'
      )
      t.same(requests, [path])
    }
  )
  await withServer(
    (_req, res) => res.writeHead(500).end(),
    async port => {
      t.equal(await exitCode(process.execPath, ['-e', script], { PORT: String(port) }), 1, 'unhealthy on 500')
    }
  )
  let free = 0
  await withServer(
    () => {},
    async port => {
      free = port
    }
  )
  t.equal(await exitCode(process.execPath, ['-e', script], { PORT: String(free) }), 1, 'unhealthy when nothing listens')
})
