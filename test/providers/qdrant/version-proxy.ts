// A pass-through proxy to a Qdrant (emulator) that claims another server version
// on GET /: lets the tests drive the provider's paths for older Qdrant releases.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export async function versionProxy(
  targetUrl: string,
  version: string
): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(targetUrl)
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '')) {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ title: 'qdrant - vector search engine', version }))
      return
    }
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers
      },
      up => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      }
    )
    upstream.on('error', () => {
      res.destroy()
    })
    req.pipe(upstream)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>(resolve =>
        server.close(() => {
          resolve()
        })
      )
    }
  }
}
