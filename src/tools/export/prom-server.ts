/**
 * A /metrics endpoint on 127.0.0.1 only: serves the current exposition text from a callback on each scrape.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../errors.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

/** A running metrics server. */
export interface MetricsServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Parse `--prometheus` addresses: `:PORT`, `PORT` or `127.0.0.1:PORT` (no other host). */
export function parseListenAddress(s: string): number {
  const m = /^(?:(127\.0\.0\.1|localhost))?:?(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--prometheus wants :PORT (served on 127.0.0.1 only), not "${s}"`);
  return port;
}

/** Serve `GET /metrics` on 127.0.0.1:port (0: any free port). */
export async function serveMetrics(port: number, render: () => string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
