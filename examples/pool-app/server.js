'use strict'
// An ordinary Piscina app that knows nothing of profiled-worker: it renders "reports"
// for a burst of requests on a pool of two workers and prints a line per request.
// Profile it from outside:
//
//   npx profiled-worker --out profiles/pool-app -- node examples/pool-app/server.js
//
// (or `node bin/profiled-worker.js ...` in this repository).
const path = require('node:path')
const { Piscina } = require('piscina')

const pool = new Piscina({
  filename: path.join(__dirname, 'render.js'),
  minThreads: 2,
  maxThreads: 2,
})

function parseRequest(i) {
  // A little main-thread work per request.
  const q = new URLSearchParams(`user=${i}&rows=${200 + (i % 5) * 50}&theme=dark`)
  return { user: Number(q.get('user')), rows: Number(q.get('rows')) }
}

async function handle(i) {
  const req = parseRequest(i)
  const t0 = performance.now()
  const html = await pool.run(req)
  console.log(`request ${i}: ${html.length} bytes in ${(performance.now() - t0).toFixed(1)} ms`)
}

async function main() {
  const requests = Number(process.argv[2] ?? 12)
  await Promise.all(Array.from({ length: requests }, (_, i) => handle(i)))
  await pool.destroy()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
