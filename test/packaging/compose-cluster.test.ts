// The compose "cluster" profile, checked without a Docker engine: a 3-node Qdrant
// cluster with one bootstrap peer, its own MariaDB, two gateway replicas with a
// valid configuration, and an HAProxy whose configuration routes to both replicas
// with readiness checks; the default `docker compose up` is unchanged (the same
// three services start without a profile). Healthcheck commands run for real
// against stand-in HTTP servers.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { exitCode, withServer, type Handler } from './healthcheck-harness.ts'
import {
  command,
  dependsOn,
  environment,
  healthTest,
  interpolate,
  loadConfigIsolated,
  mounts,
  readCompose,
  root
} from './compose-file.ts'

const compose = readCompose()
const services = compose.services
const NODES = ['qdrant-node-1', 'qdrant-node-2', 'qdrant-node-3']
const GATEWAYS = ['gateway-1', 'gateway-2']
const CLUSTER = [...NODES, 'mariadb-cluster', ...GATEWAYS, 'lb']

t.test('profiles: the default stack is unchanged, the cluster services are in profile "cluster"', async t => {
  const always = Object.entries(services)
    .filter(([, s]) => s.profiles === undefined)
    .map(([n]) => n)
    .sort()
  t.same(always, ['gateway', 'mariadb', 'qdrant'], '`docker compose up` starts exactly the default three')
  for (const name of CLUSTER) t.same(services[name]?.profiles, ['cluster'], `${name} is in the cluster profile only`)
  t.same(Object.keys(services).sort(), [...always, ...CLUSTER].sort(), 'no other services')
  const declared = new Set(Object.keys(compose.volumes ?? {}))
  for (const name of CLUSTER) {
    for (const m of mounts(services[name])) {
      if (!m.source.startsWith('.')) t.ok(declared.has(m.source), `${name}: volume ${m.source} is declared`)
    }
  }
  const sources = CLUSTER.flatMap(n => mounts(services[n]).map(m => m.source)).filter(s => !s.startsWith('.'))
  t.equal(new Set(sources).size, sources.length, 'no two cluster services share a data volume')
  for (const s of sources) t.notOk(['mariadb-data', 'qdrant-storage'].includes(s), `${s} is not a default-stack volume`)
})

t.test('Qdrant: three nodes in distributed mode, one bootstrap peer', async t => {
  const bootstrapPeers = new Set<string>()
  for (const [i, name] of NODES.entries()) {
    const node = services[name]
    t.equal(node.image, 'qdrant/qdrant:v1.19.0', `${name}: pinned image`)
    const env = environment(node)
    t.equal(env.QDRANT__CLUSTER__ENABLED, 'true', `${name}: distributed mode`)
    t.equal(env.QDRANT__CLUSTER__P2P__PORT ?? '6335', '6335', `${name}: p2p port 6335`)
    const cmd = command(node)
    t.equal(cmd[0], './qdrant', `${name}: runs the server binary`)
    const arg = (flag: string): string | undefined => {
      const k = cmd.indexOf(flag)
      return k === -1 ? undefined : cmd[k + 1]
    }
    t.equal(arg('--uri'), `http://${name}:6335`, `${name}: announces itself by its service name on the p2p port`)
    const bootstrap = arg('--bootstrap')
    if (i === 0) {
      t.equal(bootstrap, undefined, 'node 1 is the bootstrap peer (no --bootstrap)')
    } else {
      t.ok(bootstrap !== undefined, `${name}: joins through a bootstrap peer`)
      bootstrapPeers.add(bootstrap ?? '')
      t.equal(dependsOn(node)['qdrant-node-1']?.condition, 'service_healthy', `${name}: starts once node 1 is ready`)
    }
    t.same(healthTest(node), healthTest(services.qdrant), `${name}: the default qdrant's /readyz probe`)
    t.ok(
      mounts(node).some(m => m.target === '/qdrant/storage'),
      `${name}: storage on a volume`
    )
  }
  t.same([...bootstrapPeers], ['http://qdrant-node-1:6335'], 'one bootstrap peer: node 1 on its p2p port')
})

t.test('gateway replicas: one deployment on the cluster, valid configuration', async t => {
  const configs = GATEWAYS.map(name => loadConfigIsolated(environment(services[name])))
  const db = environment(services['mariadb-cluster'])
  for (const [i, name] of GATEWAYS.entries()) {
    const gw = services[name]
    const config = configs[i]
    const qdrantUrl = new URL(config.QDRANT_URL ?? '')
    t.ok(
      NODES.includes(qdrantUrl.hostname) && qdrantUrl.port === '6333',
      `${name}: Qdrant REST port of a cluster node (${qdrantUrl.host})`
    )
    const mariadbUrl = new URL(config.MARIADB_URL)
    t.equal(mariadbUrl.hostname, 'mariadb-cluster', `${name}: the cluster's own MariaDB`)
    t.equal(decodeURIComponent(mariadbUrl.username), db.MARIADB_USER)
    t.equal(decodeURIComponent(mariadbUrl.password), db.MARIADB_PASSWORD)
    t.equal(mariadbUrl.pathname.slice(1), db.MARIADB_DATABASE)
    t.equal(config.AUTH_DISABLED, false, `${name}: authentication on`)
    t.ok((config.QDRANT_SHARD_NUMBER ?? 0) >= NODES.length, `${name}: at least one shard per node`)
    t.ok(
      (config.QDRANT_REPLICATION_FACTOR ?? 0) >= 2 && (config.QDRANT_REPLICATION_FACTOR ?? 0) <= NODES.length,
      `${name}: every shard on 2+ nodes, no more than exist`
    )
    t.ok(config.QDRANT_READ_CONSISTENCY !== undefined, `${name}: a read consistency is set`)
    const deps = dependsOn(gw)
    for (const dep of ['mariadb-cluster', ...NODES])
      t.equal(deps[dep]?.condition, 'service_healthy', `${name} waits for ${dep}`)
    t.same(healthTest(gw), healthTest(services.gateway), `${name}: the gateway's /health readiness probe`)
    t.same(gw.ports ?? [], [], `${name}: not published, reached through the LB`)
    const context = typeof gw.build === 'string' ? gw.build : gw.build?.context
    t.equal(context, '.', `${name}: built from this repository`)
  }
  const shared = (c: (typeof configs)[number]) => ({
    db: c.MARIADB_URL,
    collection: c.QDRANT_COLLECTION,
    dim: c.VECTOR_DIMENSION,
    keys: [c.API_KEY, c.ADMIN_API_KEY],
    shards: c.QDRANT_SHARD_NUMBER,
    replication: c.QDRANT_REPLICATION_FACTOR,
    wcf: c.QDRANT_WRITE_CONSISTENCY_FACTOR
  })
  t.same(
    shared(configs[0]),
    shared(configs[1]),
    'both replicas share database, collection, keys and collection settings'
  )
  t.not(configs[0].QDRANT_URL, configs[1].QDRANT_URL, 'the replicas use different Qdrant nodes')
  const host = { API_KEY: 'host-data-key-123', ADMIN_API_KEY: 'host-admin-key-456', QDRANT_SHARD_NUMBER: '6' }
  for (const name of GATEWAYS) {
    const c = loadConfigIsolated(environment(services[name], host))
    t.same(
      [c.API_KEY, c.ADMIN_API_KEY, c.QDRANT_SHARD_NUMBER],
      ['host-data-key-123', 'host-admin-key-456', 6],
      `${name}: keys and settings from the host`
    )
  }
})

interface Haproxy {
  sections: Array<{ kind: string; name: string; lines: string[][] }>
}

function parseHaproxy(text: string): Haproxy {
  const sections: Haproxy['sections'] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') continue
    const words = line.split(/\s+/)
    if (!/^\s/.test(raw)) sections.push({ kind: words[0], name: words[1] ?? '', lines: [] })
    else sections.at(-1)?.lines.push(words)
  }
  return { sections }
}

t.test('load balancer: HAProxy routes to both replicas, readiness-checked', async t => {
  const lb = services.lb
  t.match(lb.image, /^haproxy:\d/, 'official HAProxy image, pinned to a major version')
  const mount = mounts(lb).find(m => m.target === '/usr/local/etc/haproxy/haproxy.cfg')
  t.ok(mount !== undefined, 'its configuration is mounted where HAProxy reads it')
  t.equal(mount?.mode, 'ro', 'read-only')
  const file = join(root, mount?.source ?? '')
  t.ok(existsSync(file), `${mount?.source} exists in the repository`)
  const cfg = parseHaproxy(readFileSync(file, 'utf8'))
  const frontend = cfg.sections.find(s => s.kind === 'frontend')
  t.ok(frontend, 'a frontend')
  const bind = frontend?.lines.find(l => l[0] === 'bind')?.[1] ?? ''
  const lbPort = Number(bind.split(':').at(-1))
  const published = interpolate(String(lb.ports?.[0] ?? ''))
  t.equal(
    Number(published.split(':').at(-1)),
    lbPort,
    `the published port is the one the frontend binds (${published})`
  )
  const backendName = frontend?.lines.find(l => l[0] === 'default_backend')?.[1]
  const backend = cfg.sections.find(s => s.kind === 'backend' && s.name === backendName)
  t.ok(backend, `the default backend ${backendName} exists`)
  const servers = backend?.lines.filter(l => l[0] === 'server') ?? []
  t.same(
    servers.map(l => l[2]).sort(),
    GATEWAYS.map(g => `${g}:${loadConfigIsolated(environment(services[g])).PORT}`).sort(),
    'one server per replica, at its service name and listening port'
  )
  for (const s of servers) t.ok(s.includes('check'), `${s[1]}: health-checked`)
  const line = (kind: string): string | undefined => backend?.lines.find(l => l[0] === kind)?.join(' ')
  t.equal(
    line('option'),
    'option httpchk GET /health',
    'checks readiness (/health), so a draining replica leaves rotation'
  )
  t.equal(line('http-check'), 'http-check expect status 200')
  const defaults = cfg.sections.find(s => s.kind === 'defaults')
  const defaultServer = defaults?.lines.find(l => l[0] === 'default-server') ?? []
  t.ok(defaultServer.includes('resolvers'), 'server names resolved again at run time (restarted replicas)')
  const resolvers = cfg.sections.find(s => s.kind === 'resolvers')
  t.ok(
    resolvers?.lines.some(l => l[0] === 'nameserver' && l[2] === '127.0.0.11:53'),
    "compose's DNS"
  )
  t.same(
    dependsOn(lb),
    { 'gateway-1': { condition: 'service_started' }, 'gateway-2': { condition: 'service_started' } },
    'starts with the replicas; one unhealthy replica does not keep it down'
  )

  // its own healthcheck probes the frontend's monitor-uri, which fails with no replica in rotation
  const monitor = frontend?.lines.find(l => l[0] === 'monitor-uri')?.[1]
  t.ok(monitor !== undefined, 'a monitor-uri')
  t.ok(
    frontend?.lines.some(l => l.join(' ') === `monitor fail if { nbsrv(${backendName}) eq 0 }`),
    'unhealthy with no replica in rotation'
  )
  const test = healthTest(lb)
  t.same(test.slice(0, 3), ['CMD', 'bash', '-c'])
  const script = test[3]
  t.match(script, `/dev/tcp/127.0.0.1/${lbPort}`, 'probes the frontend port')
  t.match(script, `GET ${monitor} `, 'asks the monitor-uri')
  const on = (port: number): string => script.replaceAll(`/dev/tcp/127.0.0.1/${lbPort}`, `/dev/tcp/127.0.0.1/${port}`)
  const reply =
    (status: number): Handler =>
    (_req, res) => {
      res.writeHead(status).end()
    }
  await withServer(reply(200), async (port, requests) => {
    t.equal(await exitCode('bash', ['-c', on(port)], {}), 0, 'healthy on 200')
    t.same(requests, [monitor])
  })
  await withServer(reply(503), async port => {
    t.not(await exitCode('bash', ['-c', on(port)], {}), 0, 'unhealthy on 503')
  })
})
