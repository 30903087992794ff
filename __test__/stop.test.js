'use strict'
// Profiles stopped at awkward moments, and many profiles and cycles in one process:
// never a hang, a lost report or a session left behind.
const test = require('node:test')
const assert = require('node:assert/strict')
const wt = require('node:worker_threads')

const pw = require('..')
const { startProfile } = pw
const {
  within,
  runScript,
  context,
  ask,
  samplesUnder,
  threadOf,
  fixture,
  assertEffectsHome,
  watch,
  mainIsFine,
  nothingLeftBehind,
  terminateAll,
  statusOf,
} = require('./helpers')

const Worker = wt.Worker // patched
const WORK = fixture('work.js')

test('a profile stopped while its worker is still starting', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(WORK, { workerData: { startup: 50 } }))
  const threadId = w.threadId
  const seen = watch(w)
  const report = await within(profile.stop(), 'stop()') // the worker has not run a line yet
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', statusOf(t))
  mainIsFine(report)
  nothingLeftBehind()
  // The stop reached the worker: it runs on, no longer profiling, even for that context.
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 1 })), { done: 'taskA', active: [] })
  assert.deepEqual(seen.errors, [])
  await terminateAll(w)
})

test('stop() twice: the same promise and report; the worker stops once', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(WORK))
  const threadId = w.threadId
  await ctx(() => ask(w, { fn: 'taskA', ms: 100 }))
  const first = profile.stop()
  const second = profile.stop()
  assert.equal(first, second)
  const report = await within(first, 'stop()')
  assert.equal(await within(profile.stop(), 'stop() again'), report)
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', statusOf(t))
  assert.ok(samplesUnder(t.profile, 'taskA') > 0)
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 1 })), { done: 'taskA', active: [] })
  await terminateAll(w)
})

test('20 profiles over 3 shared workers, stopped all at once', async () => {
  const workers = [1, 2, 3].map((i) => new Worker(WORK, { name: `shared-${i}` }))
  const seen = workers.map(watch)
  const contexts = Array.from({ length: 20 }, (_, i) => context(`profile-${i}`))
  const profiles = contexts.map((ctx, i) => ctx(() => startProfile({ name: `p${i}` })))
  // Every profile sends each worker a message: each worker now profiles for all 20.
  for (const ctx of contexts)
    for (const w of workers) ctx(() => w.postMessage({ fn: 'taskA', ms: 1 }))
  const replies = (n) => (s) => s.messages.length >= n && s.messages
  const first = await Promise.all(seen.map((s) => s.waitFor(replies(20), '20 replies')))
  // Each task ran for the profile that sent it, in the order sent.
  for (const messages of first) {
    assert.deepEqual(
      messages.map((m) => m.active),
      profiles.map((p) => [p.id]),
    )
  }
  // Work for every profile, each sending its own.
  for (const ctx of contexts)
    for (const w of workers) ctx(() => w.postMessage({ fn: 'taskB', ms: 25 }))
  await Promise.all(seen.map((s) => s.waitFor(replies(40), 'the taskB replies')))

  const reports = await within(Promise.all(profiles.map((p) => p.stop())), '20 x stop()')
  for (const [i, report] of reports.entries()) {
    assert.equal(report.name, `p${i}`)
    assert.deepEqual(
      report.threads.map((t) => t.threadId),
      [0, ...workers.map((w) => w.threadId)],
    )
    for (const w of workers) {
      const t = threadOf(report, w.threadId)
      assert.equal(t.status, 'ok', `p${i}, ${t.name}: ${statusOf(t)}`)
      assert.ok(samplesUnder(t.profile, 'taskB') > 0, `p${i}, ${t.name}: taskB samples`)
      assertEffectsHome(t)
    }
    mainIsFine(report)
  }
  nothingLeftBehind()
  for (const w of workers) {
    assert.deepEqual(await ask(w, { fn: 'taskA', ms: 1 }), { done: 'taskA', active: [] })
  }
  for (const s of seen) assert.deepEqual(s.errors, [])
  await terminateAll(...workers)
})

test('200 cycles of create → profile → terminate while profiling, in one process', () => {
  const r = runScript(fixture('cycles.js'), { args: [], timeout: 120_000 })
  assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1))
  assert.deepEqual(result, { cycles: 200, reports: 200, odd: [], oddCount: 0, active: 0 })
})
