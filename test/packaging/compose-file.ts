// docker-compose.yml as the packaging tests read it: parsed with `yaml`, values
// interpolated with compose's rules (the file's own defaults, or a given host env).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../../src/config.ts'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}
export interface Service {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  profiles?: string[]
  ports?: Array<string | number | { target: number; published?: string | number }>
  environment?: Record<string, string | number | boolean | null> | string[]
  command?: string | string[]
  volumes?: Array<string | { type?: string; source?: string; target: string }>
  depends_on?: string[] | Record<string, { condition?: string }>
  healthcheck?: { test?: string | string[]; disable?: boolean }
  stop_grace_period?: string
}

export function readCompose(): ComposeFile {
  return parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as ComposeFile
}

/**
 * Compose interpolation against a given host environment (empty: the file's own
 * defaults): $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}.
 */
export function interpolate(value: string, host: Record<string, string> = {}): string {
  return value.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, dollar?: string, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (dollar !== undefined) return '$'
      const name = (braced ?? bare) as string
      const set = Object.hasOwn(host, name)
      const nonEmpty = set && host[name] !== ''
      switch (op) {
        case ':-':
          return nonEmpty ? host[name] : (arg ?? '')
        case '-':
          return set ? host[name] : (arg ?? '')
        case ':?':
          if (nonEmpty) return host[name]
          throw new Error(`required variable ${name}: ${arg ?? ''}`)
        case '?':
          if (set) return host[name]
          throw new Error(`required variable ${name}: ${arg ?? ''}`)
        case ':+':
          return nonEmpty ? (arg ?? '') : ''
        case '+':
          return set ? (arg ?? '') : ''
        default:
          return host[name] ?? ''
      }
    }
  )
}

export function environment(service: Service, host: Record<string, string> = {}): Record<string, string> {
  const raw = service.environment ?? {}
  const entries: Array<[string, unknown]> = Array.isArray(raw)
    ? raw.map(line => {
        const i = line.indexOf('=')
        return i === -1 ? [line, null] : [line.slice(0, i), line.slice(i + 1)]
      })
    : Object.entries(raw)
  return Object.fromEntries(entries.flatMap(([k, v]) => (v === null ? [] : [[k, interpolate(String(v), host)]])))
}

export function command(service: Service): string[] {
  const c = service.command ?? []
  return (Array.isArray(c) ? c : c.split(/\s+/).filter(Boolean)).map(s => interpolate(s))
}

export function dependsOn(service: Service): Record<string, { condition?: string }> {
  const d = service.depends_on ?? {}
  return Array.isArray(d) ? Object.fromEntries(d.map(n => [n, {}])) : d
}

export function healthTest(service: Service): string[] {
  const test = service.healthcheck?.test
  if (test === undefined) return []
  return (typeof test === 'string' ? ['CMD-SHELL', test] : test).map(s => interpolate(s))
}

export function mounts(service: Service): Array<{ source: string; target: string; mode?: string }> {
  return (service.volumes ?? []).map(v => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target }
    const [source, target, mode] = v.split(':')
    return { source, target, mode }
  })
}

/** loadConfig() with the test process's own configuration variables hidden (env-schema merges process.env). */
export function loadConfigIsolated(env: Record<string, string>): ReturnType<typeof loadConfig> {
  const saved: Record<string, string> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    if (process.env[key] !== undefined) {
      saved[key] = process.env[key]
      delete process.env[key]
    }
  }
  try {
    return loadConfig(env)
  } finally {
    Object.assign(process.env, saved)
  }
}
