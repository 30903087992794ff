'use strict'
// A worker stuck in synchronous code cannot read its port; stopping its profile (or
// terminating it) must still bring its samples home, through the inspector (lib/parent/busy.js).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { once } = require('node:events')
const { AsyncResource } = require('node:async_hooks')
const pw = require('..')
const { Worker } = require('node:worker_threads')
const { within, runScript, ROOT, samplesUnder, threadOf, assertEffectsHome } = require('./helpers')

const BUSY = path.join(__dirname, 'fixtures', 'busy.js')
const LOOP_MS = 4000 // long enough that the stop below happens mid-loop on any machine

/** Messages the worker sends, in order, with what happened in between. */
function journal(worker) {
  const log = []
  worker.on('message', (m) => log.push(m))
  return log
}

test('stopping a profile of a busy worker returns its samples before the loop ends', async () => {
  const w = new Worker(BUSY, { name: 'busy' })
  const log = journal(w)
  const threadId = w.threadId
  const profile = pw.startProfile({ mainThread: false })
  w.postMessage({ ms: LOOP_MS })
  await within(once(w, 'message'), 'worker start')
  await new Promise((r) => setTimeout(r, 300)) // let it sample the loop for a while
  const report = await within(profile.stop(), 'stop of a busy worker')
  assert.deepEqual(log, ['start'], 'the report came home while the worker was still in its loop')
  assert.equal(report.thread(threadId).status, 'ok')
  assert.ok(
    samplesUnder(threadOf(report, threadId).profile, 'busyLoop') > 0,
    report.thread(threadId).profile.toCollapsed(),
  )
  assertEffectsHome(report.thread(threadId))
  await w.terminate()
})

test('terminate() of a busy profiled worker brings its samples home and resolves with 1', async () => {
  const w = new Worker(BUSY, { name: 'busy-terminated' })
  const log = journal(w)
  const threadId = w.threadId
  const { report, result } = await pw.runProfile(
    async () => {
      w.postMessage({ ms: LOOP_MS })
      await within(once(w, 'message'), 'worker start')
      await new Promise((r) => setTimeout(r, 300))
      return within(w.terminate(), 'terminate of a busy worker')
    },
    { mainThread: false },
  )
  assert.equal(result, 1)
  assert.deepEqual(log, ['start'])
  assert.ok(samplesUnder(threadOf(report, threadId).profile, 'busyLoop') > 0)
  assert.equal(report.thread(threadId).status, 'exited')
})

test('a worker blocked in Atomics.wait is reached through the inspector: status ok, the wait counted as idle', async () => {
  const w = new Worker(BUSY, { name: 'waiting' })
  const threadId = w.threadId
  // The wait outlasts the stop timeout by far, so only the interrupt path can answer
  // the stop: a worker it fails to reach is reported as 'timeout' instead.
  const profile = pw.startProfile({ stopTimeoutMs: 10_000 })
  w.postMessage({ atomicsWaitMs: 120_000 })
  await within(once(w, 'message'), 'worker start')
  await new Promise((r) => setTimeout(r, 300)) // let the profile cover some of the wait
  const report = await within(profile.stop(), 'stop of a blocked worker')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', 'reached in Atomics.wait, not timed out')
  assert.equal(report.thread(0).status, 'ok')
  // The runtime treats Atomics.wait as idle (README, "A pool's idle time"): no samples of
  // the wait and wall time well short of the profile's, which covered the wait.
  assert.equal(samplesUnder(t.profile, 'waitHere'), 0, t.profile.toCollapsed())
  assert.ok(
    t.effects.wallTimeNs * 2n < report.endNs - report.startNs,
    `worker wall ${t.effects.wallTimeNs} ns of a ${report.endNs - report.startNs} ns profile`,
  )
  await w.terminate()
})

test('busy workers are reached through the inspector alongside the user’s own sessions and --inspect', () => {
  const r = runScript(path.join(__dirname, 'fixtures', 'busy-with-inspector.js'), {
    args: ['--inspect=127.0.0.1:0'],
    env: { PW_ROOT: ROOT },
  })
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  // The loop ran until after the stop resolved, so 'ok' means the interrupt answered it.
  assert.equal(out.status, 'ok', 'reached mid-loop through the interrupt, not timed out')
  assert.ok(out.busySamples > 0)
  assert.ok(out.userProfileSamples > 0, 'the user’s own profile in the worker kept working')
  assert.ok(out.userMainSession, 'the user’s main-thread session kept working')
})

test('a worker that steals its port cannot forge data for the main thread or other profiles', async () => {
  const forge = `
    const { parentPort } = require('node:worker_threads')
    parentPort.on('message', (m) => {
      globalThis.__forge(0)         // pretend to be the main thread
      globalThis.__forge(m.other)   // pretend to be the sibling worker
      globalThis.__forge(m.self)    // its own thread, in profiles it is not part of
      parentPort.postMessage('forged')
    })`
  const sibling = new Worker('setInterval(() => {}, 1000)', { eval: true })
  const evil = new Worker(forge, {
    eval: true,
    execArgv: ['--require', path.join(__dirname, 'fixtures', 'steal-port.js')],
  })
  // A profile in a context of its own, which the hostile worker never works for.
  const other = new AsyncResource('other').runInAsyncScope(() => pw.startProfile({ name: 'other' }))
  const { report } = await pw.runProfile(async () => {
    sibling.postMessage('join')
    evil.postMessage({ other: sibling.threadId, self: evil.threadId })
    await within(once(evil, 'message'), 'forged')
  })
  const otherReport = await other.stop()
  // Its own thread in its own profile is its own account (see README, Guarantees); any
  // other thread, or any profile it is not part of, must be untouched.
  const forgedIn = (r) =>
    r.threads.filter((t) => t.profile.toCollapsed().includes('FORGED')).map((t) => t.threadId)
  assert.deepEqual(forgedIn(otherReport), [], 'a profile the worker is not part of')
  assert.deepEqual(
    forgedIn(report).filter((id) => id !== evil.threadId),
    [],
    'threads other than its own',
  )
  await Promise.all([evil.terminate(), sibling.terminate()])
})
