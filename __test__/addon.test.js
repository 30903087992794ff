'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const binding = require('../binding.js')
const { ROOT, runNode } = require('./helpers')

test('a missing native binary: the package loads, and its first use names the platform package and the build command', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-nobin-'))
  for (const f of ['index.js', 'binding.js', 'package.json'])
    fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  fs.cpSync(path.join(ROOT, 'lib'), path.join(dir, 'lib'), { recursive: true })
  const code = `
    const pw = require(${JSON.stringify(dir)})
    pw.startProfile().stop().then((report) => {
      console.log(JSON.stringify(report.threads.map((t) => [t.status, t.error.code])))
      pw.threadCpuTime()
    })
  `
  const r = runNode(code, { env: { NAPI_RS_NATIVE_LIBRARY_PATH: '' } })
  assert.notEqual(r.status, 0)
  assert.deepEqual(JSON.parse(r.stdout), [['unprofiled', 'ERR_PROFILED_WORKER_NOT_BUILT']])
  assert.match(r.stderr, /native addon is not built/)
  assert.match(r.stderr, /Build it with `npm run build` in /)
  const libc = process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'
  const suffix = { linux: `-${libc}`, win32: '-msvc' }[process.platform] ?? ''
  const pkg = `profiled-worker-${process.platform}-${process.arch}${suffix}`
  assert.ok(r.stderr.includes(`the package ${pkg})`), r.stderr)
  assert.match(r.stderr, /without --omit=optional/)
  assert.match(r.stderr, /ERR_PROFILED_WORKER_NOT_BUILT/)
})

test('a panic in the addon surfaces as a JS exception, on and off the JS thread', async () => {
  assert.throws(() => binding.__panicForTesting('boom-sync'), /boom-sync/)
  await assert.rejects(
    binding.__panicOffThreadForTesting('boom-async'),
    /internal error \(panic\): boom-async/,
  )
  // The process is still fine afterwards.
  assert.equal(typeof binding.threadCpuTime(), 'bigint')
})

const WORKER_USES_ADDON = `
  const { parentPort } = require('node:worker_threads')
  const pw = require(${JSON.stringify(ROOT)})
  const text = JSON.stringify({ nodes: [{ id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2] },
    { id: 2, callFrame: { functionName: 'f', scriptId: '1', url: 'x.js', lineNumber: 1, columnNumber: 1 } }],
    startTime: 0, endTime: 10, samples: Array(20000).fill(2), timeDeltas: Array(20000).fill(1) })
  const p = pw.CpuProfile.parse(text)
  const out = pw.serialize({ cpu: pw.threadCpuTime(), samples: p.sampleCount })
  p.toPprofAsync().then((buf) => parentPort.postMessage({ out, bytes: buf.length }))
`

test('loads in workers first, in many workers, and survives workers exiting mid-task', () => {
  const script = `
    const { Worker } = require('node:worker_threads')
    const code = ${JSON.stringify(WORKER_USES_ADDON)}
    const run = (terminateEarly) => new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true })
      w.on('error', reject)
      w.on('message', (m) => { if (!terminateEarly) resolve(m) })
      w.on('online', () => { if (terminateEarly) setTimeout(() => w.terminate().then(resolve), Math.random() * 20) })
      w.on('exit', () => resolve(null))
    })
    ;(async () => {
      const first = await run(false)          // a worker loads the addon before the main thread
      if (!first || !first.out.includes('n,"samples":20000')) throw new Error('bad ' + JSON.stringify(first))
      for (let i = 0; i < 20; i++) await run(i % 2 === 0)   // half are terminated mid-work
      const pw = require(${JSON.stringify(ROOT)})          // main thread loads it last
      console.log('ok', pw.deserialize(first.out).samples, typeof pw.threadCpuTime())
    })().catch((e) => { console.error(e); process.exit(1) })
  `
  const r = runNode(script)
  assert.equal(r.signal, null, `crashed with ${r.signal}: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^ok 20000 bigint$/m)
})
