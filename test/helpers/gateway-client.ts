// Thin request helpers over app.inject for routing tests.
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { TestGateway } from './app.ts'
import type { ChunkBody } from './chunks.ts'

export function client(gw: TestGateway) {
  const { app, data, admin } = gw
  const inject = async (app: FastifyInstance, opts: InjectOptions) => await app.inject(opts)
  return {
    store: async (chunks: ChunkBody[], replace = false) =>
      await inject(app, { method: 'POST', url: '/chunks', headers: data, payload: { chunks, replace } }),
    search: async (body: Record<string, unknown>) =>
      await inject(app, {
        method: 'POST',
        url: '/search',
        headers: data,
        payload: { min_score: 0, limit: 100, ...body }
      }),
    list: async (userId: number, fileId: number) =>
      await inject(app, { url: `/chunks?user_id=${userId}&file_id=${fileId}`, headers: data }),
    stats: async (userId: number) => await inject(app, { url: `/stats?user_id=${userId}`, headers: data }),
    remove: async (qs: string) => await inject(app, { method: 'DELETE', url: `/chunks?${qs}`, headers: data }),
    patch: async (body: Record<string, unknown>) =>
      await inject(app, { method: 'PATCH', url: '/chunks', headers: data, payload: body }),
    switchTo: async (provider: string) =>
      await inject(app, {
        method: 'PUT',
        url: '/admin/vector-storage/provider',
        headers: admin,
        payload: { provider }
      }),
    pin: async (userId: number, provider: string | null) =>
      provider === null
        ? await inject(app, { method: 'DELETE', url: `/admin/vector-storage/users/${userId}/provider`, headers: admin })
        : await inject(app, {
            method: 'PUT',
            url: `/admin/vector-storage/users/${userId}/provider`,
            headers: admin,
            payload: { provider }
          }),
    readMode: async (mode: string) =>
      await inject(app, {
        method: 'PUT',
        url: '/admin/vector-storage/read-mode',
        headers: admin,
        payload: { read_mode: mode }
      }),
    status: async () => await inject(app, { url: '/admin/vector-storage/status', headers: admin })
  }
}
