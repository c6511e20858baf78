// The browser tests' world: the genhook binary on a free port with a temporary data and mappings
// directory, an SL1 alert mock and an SL1 GraphQL mock (node http servers recording what they got).

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** An HTTP mock: records every request; `answer(request)` gives [status, body]. */
export async function mock(answer) {
  const received = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const request = { method: req.method, url: req.url, headers: req.headers, body };
      received.push(request);
      const [status, reply] = answer(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    /** Resolves with the first request (from now or before) for which `test` holds. */
    async waitFor(test) {
      for (;;) {
        const found = received.find(test);
        if (found) return found;
        await new Promise((resolve) => waiters.push(resolve));
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Starts `genhook serve` with these settings; resolves once /readyz answers. */
export async function startGenHook({ bin, settings, env, mappings }) {
  const dir = mkdtempSync(join(tmpdir(), 'genhook-console-'));
  const mappingsDir = join(dir, 'mappings');
  mkdirSync(mappingsDir);
  for (const [name, from] of Object.entries(mappings)) copyFileSync(from, join(mappingsDir, name));
  const port = await freePort();
  const keys = {
    server_host: '127.0.0.1', server_port: port, mappings_dir: mappingsDir, data_dir: join(dir, 'data'),
    queue_backend: 'memory', log_level: 'info', ...settings,
  };
  writeFileSync(join(dir, 'genhook.ini'), Object.entries(keys).map(([k, v]) => `${k} = ${v}\n`).join(''));
  const child = spawn(bin, ['serve', '--config', join(dir, 'genhook.ini')], {
    env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`genhook exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    base,
    dir,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
