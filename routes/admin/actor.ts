import type { FastifyRequest } from 'fastify'

/** Who made an admin change, for the audit log: the X-Actor header, else "admin-api". */
export function actorOf(request: FastifyRequest): string {
  const header = request.headers['x-actor']
  return typeof header === 'string' && header.trim() !== '' ? header.trim().slice(0, 128) : 'admin-api'
}
