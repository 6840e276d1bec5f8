// One HTTP request over a real socket, for tests that app.inject cannot serve:
// concurrent keep-alive clients, or paths sent byte for byte (inject normalises
// URLs with WHATWG URL).
import http from 'node:http'

export interface SocketAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

/**
 * `method path` to `host:port` on `agent`, the path as given; `body` goes as JSON with its
 * content-length. Resolves with the status, headers and body text; rejects on a socket error.
 */
export async function socketRequest(
  agent: http.Agent,
  to: { host: string; port: number | string },
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown
): Promise<SocketAnswer> {
  return await new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(
      {
        host: to.host,
        port: to.port,
        path,
        method,
        agent,
        headers: {
          ...headers,
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
            : {})
        }
      },
      res => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          text += d
        })
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text })
        })
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.end(payload)
  })
}
