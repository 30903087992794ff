'use strict'
// Shared by the tests: record real V8 profiles, run code in a fresh process.

const { Session } = require('node:inspector')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

// Loaded with the helpers, so that every file that uses them has the hook.
require('./no-unhandled')

const ROOT = path.resolve(__dirname, '..')

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}

/** Record a real CPU profile of this thread while it runs fib for `ms` milliseconds. */
async function recordProfile({ ms = 150, intervalUs = 200, work = fib } = {}) {
  const session = new Session()
  session.connect()
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    )
  try {
    await post('Profiler.enable')
    await post('Profiler.setSamplingInterval', { interval: intervalUs })
    await post('Profiler.start')
    const end = Date.now() + ms
    while (Date.now() < end) work(18)
    const { profile } = await post('Profiler.stop')
    return profile
  } finally {
    session.disconnect()
  }
}

function spawnNode(argv, { env = {}, timeout = 60_000 }) {
  const r = spawnSync(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

/** Run `code` in a new node process (cwd = package root); returns {status, stdout, stderr}. */
function runNode(code, { env = {}, timeout = 60_000, args = [] } = {}) {
  return spawnNode([...args, '-e', code], { env, timeout })
}

/** Run the script `file` in a new node process: `node [...args] file` (cwd = package root). */
function runScript(file, { env = {}, timeout = 60_000, args = [] } = {}) {
  return spawnNode([...args, file], { env, timeout })
}

/** `promise`, or a rejection naming `what` after `ms`: a bug fails the test instead of hanging it. */
function within(promise, what, ms = 20_000) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// Node ≥ 24 runs AsyncLocalStorage on AsyncContextFrame: enterWith() (which startProfile
// uses) changes only the frame that is running, and re-entering an AsyncResource later
// restores the frame it was created in. Probed once, not guessed from the version.
const FRAME_BASED_ALS = (() => {
  const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks')
  const als = new AsyncLocalStorage()
  const r = new AsyncResource('probe')
  r.runInAsyncScope(() => als.enterWith(true))
  return r.runInAsyncScope(() => als.getStore()) !== true
})()

/**
 * A fresh async context: `ctx(fn)` runs fn in it, and what fn binds there (startProfile)
 * is still bound in the next `ctx(...)` call, on every Node version.
 */
function context(name = 'test-context') {
  const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks')
  const resource = new AsyncResource(name)
  if (!FRAME_BASED_ALS) return (fn) => resource.runInAsyncScope(fn)
  let frame = (fn) => fn()
  return (fn) =>
    resource.runInAsyncScope(() =>
      frame(() => {
        try {
          return fn()
        } finally {
          const snapshot = AsyncLocalStorage.snapshot()
          frame = (g) => snapshot(g)
        }
      }),
    )
}

/** Post `msg` (in the caller's context) and resolve with the worker's next message. */
function ask(w, msg) {
  const reply = new Promise((resolve, reject) => {
    const cleanup = () => {
      w.off('message', onMessage)
      w.off('error', onError)
      w.off('exit', onExit)
    }
    const onMessage = (m) => (cleanup(), resolve(m))
    const onError = (e) => (cleanup(), reject(e))
    const onExit = (code) => (
      cleanup(),
      reject(new Error(`worker exited (${code}) before replying`))
    )
    w.on('message', onMessage)
    w.on('error', onError)
    w.on('exit', onExit)
  })
  w.postMessage(msg)
  return within(reply, `reply to ${JSON.stringify(msg)}`)
}

const fixture = (name) => path.join(__dirname, 'fixtures', name)

/** How many samples have `fn` on their stack (collapsed lines are `frame;...;frame count`). */
function samplesUnder(profile, fn) {
  let n = 0
  for (const line of profile.toCollapsed().split('\n')) {
    if (!line) continue
    const at = line.lastIndexOf(' ')
    if (
      line
        .slice(0, at)
        .split(';')
        // V8 sometimes leaves a function's url out (a script compiled as a profile starts).
        .some((frame) => frame === fn || frame.startsWith(`${fn} (`))
    ) {
      n += Number(line.slice(at + 1))
    }
  }
  return n
}

/** The report's entry for `threadId`, asserting it is there. */
function threadOf(report, threadId) {
  const assert = require('node:assert/strict')
  const t = report.thread(threadId)
  assert.ok(t, `thread ${threadId} in the report (has ${report.threads.map((x) => x.threadId)})`)
  return t
}

/**
 * The thread's effects came home from a thread that ran code in the profile: CPU and
 * wall time are bigints above zero (a missing or zeroed record fails).
 */
function assertEffectsHome(t, what = `thread ${t.threadId}`) {
  const assert = require('node:assert/strict')
  const { cpuTimeNs, wallTimeNs } = t.effects
  assert.equal(typeof cpuTimeNs, 'bigint', `${what}: cpuTimeNs`)
  assert.equal(typeof wallTimeNs, 'bigint', `${what}: wallTimeNs`)
  assert.ok(cpuTimeNs > 0n, `${what}: cpuTimeNs ${cpuTimeNs} > 0`)
  assert.ok(wallTimeNs > 0n, `${what}: wallTimeNs ${wallTimeNs} > 0`)
}

/** A bounded wait for `emitter`'s next `event`. */
const once = (emitter, event) =>
  within(new Promise((resolve) => emitter.once(event, resolve)), `'${event}' event`)

async function terminateAll(...workers) {
  await Promise.all(workers.map((w) => within(w.terminate(), 'terminate()')))
}

/** Everything a worker says and does, from its creation on; `waitFor` is bounded. */
function watch(w) {
  const seen = { messages: [], errors: [], exitCode: undefined }
  const waiters = new Set()
  const check = () => {
    for (const waiter of [...waiters]) waiter()
  }
  w.on('message', (m) => (seen.messages.push(m), check()))
  w.on('error', (e) => (seen.errors.push(e), check()))
  w.on('exit', (code) => ((seen.exitCode = code), check()))
  seen.waitFor = (predicate, what) =>
    within(
      new Promise((resolve) => {
        const waiter = () => {
          const hit = predicate(seen)
          if (hit !== undefined && hit !== false) (waiters.delete(waiter), resolve(hit))
        }
        waiters.add(waiter)
        waiter()
      }),
      what,
    )
  seen.exited = () => seen.waitFor((s) => s.exitCode !== undefined && s.exitCode, "'exit'")
  seen.message = (predicate, what) =>
    seen.waitFor((s) => s.messages.find(predicate), what ?? 'a message')
  return seen
}

const statusOf = (t) =>
  `${t.status} (exitCode ${t.exitCode}, errors ${JSON.stringify(t.effects.errors)})`

/** The main thread was profiled alongside and is unharmed. */
function mainIsFine(report) {
  const assert = require('node:assert/strict')
  const main = threadOf(report, 0)
  assert.equal(main.status, 'ok', 'main thread status')
  assert.deepEqual(main.effects.errors, [])
  assertEffectsHome(main)
}

/** No profile or session is left behind (a leak). */
function nothingLeftBehind() {
  const assert = require('node:assert/strict')
  assert.deepEqual(require('..').activeProfiles(), [], 'no active profile left')
  assert.equal(require('../lib/thread/hub').sessions.size, 0, 'no session left in the hub')
}

/** A .cpuprofile text of `count` samples in FORGED, stamped "now" (inside any open window). */
function forgedProfileJson(count = 500) {
  const now = Number(process.hrtime.bigint() / 1000n)
  const frame = (functionName) => ({
    functionName,
    scriptId: '0',
    url: 'evil.js',
    lineNumber: 0,
    columnNumber: 0,
  })
  return JSON.stringify({
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2] },
      { id: 2, callFrame: frame('FORGED') },
    ],
    startTime: now - count,
    endTime: now,
    samples: Array(count).fill(2),
    timeDeltas: Array(count).fill(1),
  })
}

/**
 * A profile with two workers in it: a forger (fixtures/forger.js) that has found its
 * private port, and an honest sibling with a nested worker of its own (fixtures/
 * sibling.js). The forger learns the port from the STOP of a first profile, as an
 * attacker would. `post(messages)` has the forger post them on the port; `key` is the
 * profile's routing key (what a forger reads off the START and STOP it sees).
 */
async function forgeryScene() {
  const wt = require('node:worker_threads')
  const assert = require('node:assert/strict')
  const { startProfile } = require('..')
  const hub = require('../lib/thread/hub')
  const first = context('forgery-first')
  const warmUp = first(() => startProfile({ name: 'first', stopTimeoutMs: 15_000 }))
  const forger = first(() => new wt.Worker(fixture('forger.js'), { name: 'forger' }))
  await first(() => ask(forger, { op: 'work', ms: 1 }))
  await within(warmUp.stop(), 'the first profile stops')
  assert.deepEqual(await ask(forger, { op: 'found' }), { found: true }, 'the forger has the port')

  const ctx = context('forgery')
  // A long stop timeout: on a loaded machine a 'timeout' here would hide what is tested.
  const profile = ctx(() =>
    startProfile({ name: 'attacked', samplingIntervalUs: 500, stopTimeoutMs: 15_000 }),
  )
  const key = [...hub.sessions.values()].find((s) => s.name === 'attacked').id
  const sibling = ctx(() => new wt.Worker(fixture('sibling.js'), { name: 'sibling' }))
  const { nestedThreadId } = await once(sibling, 'message')
  await ctx(() => ask(sibling, 30))
  await ctx(() => ask(forger, { op: 'work', ms: 30 }))
  return {
    forger,
    sibling,
    nestedThreadId,
    profile,
    key,
    post: (messages) => {
      const posted = once(forger, 'message')
      forger.postMessage({ op: 'post', messages })
      return posted
    },
    close: async () => {
      await within(profile.stop(), 'stop()') // the same promise if the test stopped it
      await terminateAll(forger, sibling)
    },
  }
}

/**
 * The report has no thread the scene did not make, and nothing the forger sent shows
 * under a thread other than its own: the sibling's and the nested worker's data is theirs.
 */
function assertNothingForeign(report, scene) {
  const assert = require('node:assert/strict')
  const mine = [0, scene.forger.threadId, scene.sibling.threadId, scene.nestedThreadId]
  assert.deepEqual(
    report.threads.map((t) => t.threadId).filter((id) => !mine.includes(id)),
    [],
    'no thread the scene did not make',
  )
  for (const t of report.threads) {
    if (t.threadId === scene.forger.threadId) continue
    assert.equal(samplesUnder(t.profile, 'FORGED'), 0, `no forged samples under ${t.name}`)
    assert.deepEqual(t.effects.errors, [], `no forged errors under ${t.name}`)
    assert.notEqual(t.status, 'timeout', `${t.name} did not time out`)
  }
  assert.equal(threadOf(report, scene.sibling.threadId).name, 'sibling')
  assert.equal(threadOf(report, scene.nestedThreadId).name, 'nested')
  // Their own samples are there (by file: V8 may inline the work into its caller).
  const sibling = threadOf(report, scene.sibling.threadId).profile.toCollapsed()
  assert.match(sibling, /fixtures\/sibling\.js/, 'the sibling keeps its samples')
  assert.ok(threadOf(report, scene.nestedThreadId).profile.sampleCount > 0, 'so does the nested')
  for (const t of report.threads) assertEffectsHome(t)
  report.toPprof() // the whole report still encodes
}

module.exports = {
  forgedProfileJson,
  forgeryScene,
  assertNothingForeign,
  once,
  terminateAll,
  watch,
  statusOf,
  mainIsFine,
  nothingLeftBehind,
  assertEffectsHome,
  fixture,
  samplesUnder,
  threadOf,
  context,
  ask,
  ROOT,
  fib,
  recordProfile,
  runNode,
  runScript,
  within,
}
