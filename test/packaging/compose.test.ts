// docker-compose.yml, checked without a Docker engine: its structure, the gateway's
// environment against the real configuration schema and loader, the consistency of
// the connection URLs with the backend services, and the healthcheck commands run
// here against stand-in HTTP servers.
import t from 'tap'
import { exitCode, withServer, type Handler } from './healthcheck-harness.ts'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigSchema } from '../../src/config.ts'
import {
  dependsOn,
  environment,
  healthTest,
  interpolate,
  loadConfigIsolated,
  readCompose,
  root,
  type Service
} from './compose-file.ts'

const compose = readCompose()

/** The raw (uninterpolated) environment values, to see which ones come from the host. */
function rawEnvironment(service: Service): Record<string, string> {
  const raw = service.environment ?? {}
  if (Array.isArray(raw)) return Object.fromEntries(raw.map(l => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]))
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]))
}

/** Container ports of a service's `ports` (short and long syntax). */
function containerPorts(service: Service): number[] {
  return (service.ports ?? []).map(p => {
    if (typeof p === 'object') return Number(p.target)
    const spec = interpolate(String(p)).replace(/\/(tcp|udp)$/, '')
    return Number(spec.split(':').at(-1))
  })
}

/** Paths the health routes plugin declares (registered without a prefix in routes/index.ts). */
function healthRoutes(): string[] {
  const source = readFileSync(join(root, 'routes', 'health.ts'), 'utf8')
  return [...source.matchAll(/\.get\(\s*['"`]([^'"`]+)['"`]/g)].map(m => m[1])
}

const PORT_DEFAULT = (ConfigSchema.properties.PORT as unknown as { default: number }).default
const services = compose.services ?? {}
const gateway = services.gateway
const mariadb = services.mariadb
const qdrant = services.qdrant

t.test('services gateway, mariadb and qdrant exist', async t => {
  t.ok(gateway, 'gateway')
  t.ok(mariadb, 'mariadb')
  t.ok(qdrant, 'qdrant')
})

t.test('backend images are pinned to the reference versions', async t => {
  t.equal(mariadb.image, 'mariadb:11.8')
  t.equal(qdrant.image, 'qdrant/qdrant:v1.19.0')
})

t.test('the gateway is built from this repository', async t => {
  const context = typeof gateway.build === 'string' ? gateway.build : gateway.build?.context
  t.equal(context, '.')
  const dockerfile = typeof gateway.build === 'object' ? (gateway.build.dockerfile ?? 'Dockerfile') : 'Dockerfile'
  t.ok(existsSync(join(root, dockerfile)), `${dockerfile} exists`)
})

t.test('every service has a healthcheck', async t => {
  for (const [name, service] of Object.entries(services)) {
    const test = healthTest(service)
    t.not(service.healthcheck?.disable, true, `${name}: not disabled`)
    t.ok(test.length > 0 && test[0] !== 'NONE', `${name}: has a test`)
    t.ok(['CMD', 'CMD-SHELL'].includes(test[0]), `${name}: test starts with CMD or CMD-SHELL`)
  }
})

t.test('the gateway waits for healthy backends', async t => {
  const deps = dependsOn(gateway)
  t.equal(deps.mariadb?.condition, 'service_healthy', 'mariadb')
  t.equal(deps.qdrant?.condition, 'service_healthy', 'qdrant')
})

t.test('the gateway environment is valid configuration', async t => {
  const env = environment(gateway)
  const known = new Set(Object.keys(ConfigSchema.properties))
  for (const name of Object.keys(env)) t.ok(known.has(name), `${name} is a ConfigSchema property`)
  for (const [name, value] of Object.entries(env))
    t.not(value, '', `${name} resolves to a value without host variables`)

  const config = loadConfigIsolated(env)
  t.equal(config.VECTOR_STORAGE_PROVIDER, 'mariadb')
  t.equal(config.VECTOR_DIMENSION, 1024)
  t.equal(config.QDRANT_URL, 'http://qdrant:6333')
  t.equal(config.HOST, '0.0.0.0', 'listens on every interface of the container')
  t.equal(config.AUTH_DISABLED, false, 'authentication stays on')
})

t.test('API keys come from the host environment, with defaults', async t => {
  const raw = rawEnvironment(gateway)
  for (const name of ['API_KEY', 'ADMIN_API_KEY']) {
    t.match(raw[name], new RegExp(`^\\$\\{${name}:-[^}]+\\}$`), `${name} is \${${name}:-default}`)
  }
  const host = { API_KEY: 'host-data-key-123', ADMIN_API_KEY: 'host-admin-key-456' }
  const config = loadConfigIsolated(environment(gateway, host))
  t.equal(config.API_KEY, host.API_KEY)
  t.equal(config.ADMIN_API_KEY, host.ADMIN_API_KEY)
})

t.test('the published port is the port the gateway listens on', async t => {
  const port = Number(environment(gateway).PORT ?? PORT_DEFAULT)
  t.equal(port, 8090)
  t.same(containerPorts(gateway), [port])
  const published = interpolate(String(gateway.ports?.[0]))
  t.equal(published, `${port}:${port}`)
})

t.test('MARIADB_URL points at the mariadb service and its account', async t => {
  const url = new URL(environment(gateway).MARIADB_URL)
  const db = environment(mariadb)
  t.equal(url.protocol, 'mariadb:')
  t.equal(url.hostname, 'mariadb', 'host is the service name')
  t.equal(url.port, '3306', 'the server port inside the network')
  t.equal(decodeURIComponent(url.username), db.MARIADB_USER, 'user')
  t.equal(decodeURIComponent(url.password), db.MARIADB_PASSWORD, 'password')
  t.equal(url.pathname.replace(/^\//, ''), db.MARIADB_DATABASE, 'database')
  t.ok(db.MARIADB_ROOT_PASSWORD, 'a root password is set')
  t.not(db.MARIADB_ROOT_PASSWORD, db.MARIADB_PASSWORD, 'root password differs from the application password')
})

t.test('mariadb is tuned for vector search', async t => {
  const command = Array.isArray(mariadb.command) ? mariadb.command : String(mariadb.command ?? '').split(/\s+/)
  for (const flag of ['--mhnsw-max-cache-size=1G', '--innodb-buffer-pool-size=1G', '--max-allowed-packet=256M']) {
    t.ok(command.includes(flag), flag)
  }
  t.same(healthTest(mariadb), ['CMD', 'healthcheck.sh', '--connect', '--innodb_initialized'])
})

t.test('QDRANT_URL points at the qdrant service', async t => {
  const url = new URL(environment(gateway).QDRANT_URL)
  t.equal(url.protocol, 'http:')
  t.equal(url.hostname, 'qdrant', 'host is the service name')
  t.equal(url.port, '6333', 'Qdrant REST port')
  for (const port of containerPorts(qdrant)) t.equal(port, 6333, 'qdrant publishes its REST port')
})

t.test('named volumes are declared and mounted where the data lives', async t => {
  const declared = new Set(Object.keys(compose.volumes ?? {}))
  const mounts = (service: Service): Array<{ source: string; target: string }> =>
    (service.volumes ?? []).map(v =>
      typeof v === 'string'
        ? { source: v.split(':')[0], target: v.split(':')[1] }
        : { source: v.source ?? '', target: v.target }
    )
  for (const [name, service] of Object.entries(services)) {
    for (const { source } of mounts(service)) {
      if (!source.startsWith('.') && !source.startsWith('/'))
        t.ok(declared.has(source), `${name}: volume ${source} is declared`)
    }
  }
  const target = (service: Service, path: string): string | undefined =>
    mounts(service).find(m => m.target === path)?.source
  t.ok(declared.has(target(mariadb, '/var/lib/mysql') ?? ''), 'mariadb data on a named volume')
  t.ok(declared.has(target(qdrant, '/qdrant/storage') ?? ''), 'qdrant storage on a named volume')
})

// ---------------------------------------------------------------- healthchecks, run for real

async function closedPort(): Promise<number> {
  let port = 0
  await withServer(
    () => {},
    async p => {
      port = p
    }
  )
  return port
}

const reply =
  (status: number, body: string): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body)
  }

t.test('gateway healthcheck: node fetch against /health on PORT', async t => {
  const test = healthTest(gateway)
  t.same(test.slice(0, 3), ['CMD', 'node', '-e'])
  const script = test[3]
  const path = /\/health[a-z/]*/.exec(script)?.[0]
  t.ok(path !== undefined && healthRoutes().includes(path), `probes a route that exists (${path})`)

  await withServer(reply(200, '{"status":"ok"}'), async (port, requests) => {
    t.equal(await exitCode(process.execPath, ['-e', script], { PORT: String(port) }), 0, 'healthy on 200')
    t.same(requests, [path], 'asked the health path')
  })
  await withServer(reply(503, '{"status":"error"}'), async port => {
    t.equal(await exitCode(process.execPath, ['-e', script], { PORT: String(port) }), 1, 'unhealthy on 503')
  })
  t.equal(
    await exitCode(process.execPath, ['-e', script], { PORT: String(await closedPort()) }),
    1,
    'unhealthy when nothing listens'
  )
})

t.test('qdrant healthcheck: bash /dev/tcp probe of /readyz', async t => {
  const test = healthTest(qdrant)
  t.same(test.slice(0, 3), ['CMD', 'bash', '-c'], 'needs only bash (the image has no curl or wget)')
  const script = test[3]
  t.match(script, '/dev/tcp/127.0.0.1/6333', 'probes the REST port inside the container')
  const on = (port: number): string => script.replaceAll('/dev/tcp/127.0.0.1/6333', `/dev/tcp/127.0.0.1/${port}`)

  await withServer(reply(200, 'all shards are ready'), async (port, requests) => {
    t.equal(await exitCode('bash', ['-c', on(port)], {}), 0, 'healthy on 200')
    t.same(requests, ['/readyz'], 'asked /readyz')
  })
  await withServer(reply(503, 'some shards are not ready (200 pending)'), async port => {
    t.not(await exitCode('bash', ['-c', on(port)], {}), 0, 'unhealthy on 503, even with "200" in the body')
  })
  await withServer(
    (_req, res) => {
      res.writeHead(503, { 'x-count': '200' }).end()
    },
    async port => {
      t.not(await exitCode('bash', ['-c', on(port)], {}), 0, 'unhealthy on 503, even with "200" in a header')
    }
  )
  t.not(await exitCode('bash', ['-c', on(await closedPort())], {}), 0, 'unhealthy when nothing listens')
})

t.test('interpolation helper follows compose rules', async t => {
  t.equal(interpolate('${A:-x}'), 'x')
  t.equal(interpolate('${A:-x}', { A: '' }), 'x')
  t.equal(interpolate('${A-x}', { A: '' }), '')
  t.equal(interpolate('${A:-x}', { A: 'y' }), 'y')
  t.equal(interpolate('$$A and $$$${B}'), '$A and $${B}')
  t.throws(() => interpolate('${A:?missing}'))
})

t.test('the gateway gets more time to stop than its drain may take (SHUTDOWN_TIMEOUT_MS)', async t => {
  const m = /^(\d+)s$/.exec(gateway.stop_grace_period ?? '')
  t.ok(m, `stop_grace_period in seconds (${String(gateway.stop_grace_period)})`)
  const shutdownMs = (ConfigSchema.properties.SHUTDOWN_TIMEOUT_MS as unknown as { default: number }).default
  t.ok(
    Number(m?.[1]) * 1000 > shutdownMs,
    `${String(gateway.stop_grace_period)} > SHUTDOWN_TIMEOUT_MS default ${shutdownMs} ms (Docker's own default is 10 s)`
  )
})
