'use strict'
// The time a report charges each thread is the time that thread worked for the profile,
// in every output; time outside it is `(other work)`, never a neighbouring sample's.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { gunzipSync } = require('node:zlib')
const { Profile: PprofProfile } = require('pprof-format')
const pw = require('..') // first: it patches worker_threads.Worker
const { Worker } = require('node:worker_threads')
const { AsyncResource } = require('node:async_hooks')
const { runNode, ROOT } = require('./helpers')

const INTERVAL_US = 1000
const CAP_US = 3 * INTERVAL_US // lib/main/session.js CAP_INTERVALS
const MARKERS = new Set(['(other work)', '(unsampled)'])
// Stretches without a sample are gaps: markers, of any length (a gap where the sampler did
// not run, such as its own start or stop, is `(profiled-worker)`).
const GAPS = new Set([...MARKERS, '(profiled-worker)'])

/** Each sample of a .cpuprofile with the duration DevTools gives it (until the next). */
function samplesOf(json) {
  const p = typeof json === 'string' ? JSON.parse(json) : json
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const ts = []
  let t = p.startTime
  for (const d of p.timeDeltas) ts.push((t += d))
  return p.samples.map((id, k) => {
    const stack = []
    for (let at = id; parent.has(at); at = parent.get(at)) stack.unshift(byId.get(at).callFrame)
    return {
      t: ts[k],
      us: Math.max(0, (k + 1 < ts.length ? ts[k + 1] : p.endTime) - ts[k]),
      leaf: byId.get(id).callFrame.functionName,
      topLevel: parent.get(id) === p.nodes[0].id || stack.length === 1,
      stack,
    }
  })
}

/** µs of wall time the report's pprof charges each thread id. */
function pprofWallUs(report) {
  const p = PprofProfile.decode(gunzipSync(report.toPprof()))
  const str = (i) => p.stringTable.strings[Number(i)]
  const wall = p.sampleType.findIndex((t) => str(t.type) === 'wall')
  const out = new Map()
  for (const s of p.sample) {
    const id = Number(s.label.find((l) => str(l.key) === 'thread_id').num)
    out.set(id, (out.get(id) ?? 0) + Number(s.value[wall]) / 1000)
  }
  return out
}

/** Sample counts per thread id in the collapsed output. */
function collapsedCounts(report) {
  const out = new Map()
  for (const line of report.toCollapsed().trim().split('\n')) {
    const m = /\(thread (\d+)\)/.exec(line)
    out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0) + Number(line.slice(line.lastIndexOf(' '))))
  }
  return out
}

/** The bound of issue #14: the larger of 5% and two sampling intervals per span. */
function assertCharged(chargedUs, workUs, spans, what) {
  const tolerance = Math.max(0.05 * workUs, 2 * INTERVAL_US * spans)
  assert.ok(
    Math.abs(chargedUs - workUs) <= tolerance,
    `${what}: charged ${(chargedUs / 1000).toFixed(2)} ms for ${(workUs / 1000).toFixed(2)} ms of work`,
  )
}

function assertNoLongSample(json, what) {
  for (const s of samplesOf(json)) {
    if (GAPS.has(s.leaf) && s.topLevel) continue
    assert.ok(s.us <= CAP_US, `${what}: a ${s.leaf} sample carries ${s.us} µs`)
  }
}

test('a profiled task queued behind another one on a 1-thread Piscina pool is charged its own time', async () => {
  const { Piscina } = require('piscina')
  const pool = new Piscina({
    filename: path.join(__dirname, 'fixtures', 'pool-task.js'),
    minThreads: 1,
    maxThreads: 1,
    taskQueue: pw.contextQueue('piscina'),
  })
  try {
    await pool.run({ fn: 'unprofiledTask', ms: 5 }) // the worker is up and warm
    const before = pool.run({ fn: 'unprofiledTask', ms: 30 })
    const { report } = await pw.runProfile(() => pool.run({ fn: 'alphaTask', ms: 3 }), {
      samplingIntervalUs: INTERVAL_US,
    })
    await before
    const [worker] = pool.threads.map((t) => t.threadId)
    const t = report.thread(worker)
    // The worker's spans can go on past the profile's end (until its stop arrives), so
    // the spans in the window are at most effects.wallTimeNs, and at least the task.
    const workUs = t.profile.charged.workUs
    assert.ok(workUs <= Number(t.effects.wallTimeNs) / 1000 + 2 * INTERVAL_US, 'charged ≤ work')
    assert.ok(workUs >= 3000 - 2 * INTERVAL_US, `charged ${workUs} µs for a 3 ms task`)
    assertCharged(pprofWallUs(report).get(worker), workUs, 1, 'pprof wall')
    const json = t.profile.toCpuprofile()
    assertNoLongSample(json, 'worker')
    // The wait behind the other task is other work, not a sample of alphaTask.
    const samples = samplesOf(json)
    const alpha = samples.filter((s) => s.stack.some((f) => f.functionName === 'alphaTask'))
    const alphaUs = alpha.reduce((a, s) => a + s.us, 0)
    assert.ok(alphaUs <= workUs, `alphaTask charged ${alphaUs} µs of ${workUs} µs of work`)
    assert.ok(!samples.some((s) => s.stack.some((f) => f.functionName === 'unprofiledTask')))
    assertNoLongSample(report.thread(0).profile.toCpuprofile(), 'main thread')
  } finally {
    await pool.destroy()
  }
})

test('a .cpuprofile of a shared worker charges the time outside its spans to (other work)', async () => {
  const worker = new Worker(path.join(ROOT, 'examples', 'demo-worker.js'))
  try {
    const ask = (id, ms) =>
      new Promise((resolve) => {
        const on = (m) => m.id === id && (worker.off('message', on), resolve(m))
        worker.on('message', on)
        worker.postMessage({ id, task: 'renderChart', ms })
      })
    await ask(0, 5)
    // Someone else's tasks on the same worker, before and after the profile's own.
    const before = ask(1, 20)
    const unprofiled = AsyncResource.bind(() => ask(3, 20))
    const { report } = await pw.runProfile(
      async () => {
        await ask(2, 10)
        await unprofiled()
      },
      { samplingIntervalUs: INTERVAL_US },
    )
    await before
    const t = report.thread(worker.threadId)
    const samples = samplesOf(t.profile.toCpuprofile())
    const other = samples.filter((s) => s.leaf === '(other work)')
    assert.ok(other.length > 0, 'no (other work) in the .cpuprofile')
    assert.ok(
      other.every((s) => s.topLevel),
      '(other work) is a top-level node',
    )
    const workUs = Number(t.effects.wallTimeNs) / 1000
    const charged = samples.filter((s) => s.leaf !== '(other work)').reduce((a, s) => a + s.us, 0)
    assertCharged(charged, workUs, 1, '.cpuprofile durations')
    assertCharged(pprofWallUs(report).get(worker.threadId), workUs, 1, 'pprof wall')
    const p = JSON.parse(t.profile.toCpuprofile())
    const total = samples.reduce((a, s) => a + s.us, 0)
    assert.equal(total, p.endTime - (p.startTime + p.timeDeltas[0]), 'the samples tile the window')
    assertNoLongSample(p, 'worker')
    // Collapsed counts are samples of the work only.
    const counts = collapsedCounts(report).get(worker.threadId) ?? 0
    const real = samples.filter((s) => !MARKERS.has(s.leaf)).length
    assert.equal(counts, real)
  } finally {
    await worker.terminate()
  }
})

test("the demo: each worker's durations add up to the time it worked for the request", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-demo-'))
  const res = runNode(
    `process.argv.push('--out', ${JSON.stringify(out)}); require('./examples/demo.js')`,
  )
  assert.equal(res.status, 0, res.stderr)
  const json = pw.deserialize(fs.readFileSync(path.join(out, 'request.report.json'), 'utf8'))
  const files = fs.readdirSync(out).filter((f) => f.endsWith('.cpuprofile'))
  const interval = 500
  for (const t of json.threads) {
    const file = files.find((f) => f.startsWith(`request.thread-${t.threadId}-`))
    const samples = samplesOf(fs.readFileSync(path.join(out, file), 'utf8'))
    const charged = samples.filter((s) => s.leaf !== '(other work)').reduce((a, s) => a + s.us, 0)
    const workUs = Number(t.effects.wallTimeNs) / 1000
    const tolerance = Math.max(0.05 * workUs, 2 * interval)
    const text = `${t.name}: .cpuprofile charges ${charged} µs for ${workUs} µs of work`
    // The one-shot worker goes on to exit after its answer, past the profile's end, and
    // its effects count that; what the profile charges is the part inside the window.
    if (t.name.startsWith('one-shot')) assert.ok(charged <= workUs + tolerance, text)
    else if (t.threadId !== 0) assert.ok(Math.abs(charged - workUs) <= tolerance, text)
    for (const s of samples)
      if (!(GAPS.has(s.leaf) && s.topLevel))
        assert.ok(s.us <= 3 * interval, `${t.name}: one ${s.leaf} sample carries ${s.us} µs`)
  }
  fs.rmSync(out, { recursive: true, force: true })
})

test('samples of our own work are one (profiled-worker) frame, and the effects say how long', async () => {
  const { report } = await pw.runProfile(
    () =>
      new Promise((resolve, reject) => {
        const w = new Worker(path.join(ROOT, 'examples', 'demo-worker.js'), {
          workerData: { oneShot: { task: 'renderChart', ms: 30 } },
        })
        w.once('message', () => w.once('exit', resolve))
        w.once('error', reject)
      }),
    { samplingIntervalUs: INTERVAL_US },
  )
  const ours = (f) => f.url.includes('/lib/') && f.url.includes(ROOT)
  for (const t of report.threads) {
    const samples = samplesOf(t.profile.toCpuprofile())
    const user = (f) => f !== undefined && f.url !== '' && !f.url.startsWith('node:') && !ours(f)
    for (const s of samples) {
      // Our code stays in a stack only where user code called it (the patched postMessage).
      const [caller, leaf] = [s.stack.at(-2), s.stack.at(-1) ?? { url: '' }]
      assert.ok(!ours(leaf) || user(caller), `${t.name}: a sample in ${s.leaf}`)
      assert.ok(!s.stack.some((f) => f.functionName === 'dispatch' && f.url === ''), 'dispatch')
    }
    const own = samples.filter((s) => s.leaf === '(profiled-worker)').reduce((a, s) => a + s.us, 0)
    assert.equal(typeof t.effects.profilerTimeNs, 'bigint')
    assert.equal(Number(t.effects.profilerTimeNs), own * 1000)
  }
})
