'use strict'
// User code must not notice ProfiledWorker: every scenario runs under the plain Worker
// and under the patched one, and what the user sees must be the same.
const test = require('node:test')
const assert = require('node:assert/strict')
const { pathToFileURL } = require('node:url')
const wt = require('node:worker_threads')

const PlainWorker = wt.Worker // captured before the patch
const pw = require('..')
const ProfiledWorker = wt.Worker
const { runNode, fixture, within } = require('./helpers')

function summarize(event, arg) {
  if (event === 'error') return arg instanceof Error ? `${arg.name}: ${arg.message}` : String(arg)
  return arg
}

/** Run a worker to its exit; resolve with the events it emitted, in order. */
function observe(W, filename, options, { send = [], after } = {}) {
  return new Promise((resolve) => {
    const events = []
    const w = new W(filename, options)
    for (const e of ['online', 'message', 'messageerror', 'error', 'exit']) {
      w.on(e, (arg) => {
        events.push([e, summarize(e, arg)])
        if (e === 'message' && after) after(w, arg)
        if (e === 'exit') resolve({ events, worker: w })
      })
    }
    for (const m of send) w.postMessage(m)
  })
}

// A worker's events travel on two ports: its messages on the public one, and 'online',
// 'error' and 'exit' on the internal one. Node orders each port's events but not the two
// against each other (a plain Worker here shows 'error' before earlier messages in 1–9%
// of runs, and 'message' before 'online' in a few percent). So each port's sequence is
// compared in exact order.
function comparable(events) {
  const internal = ['online', 'error', 'exit']
  return {
    online: events.filter(([e]) => e === 'online').length,
    internal: events.filter(([e]) => internal.includes(e)),
    events: events.filter(([e]) => e !== 'online' && !internal.includes(e)),
  }
}

async function both(filename, makeOptions, extra) {
  const plain = await observe(PlainWorker, filename, makeOptions(), extra)
  const profiled = await observe(ProfiledWorker, filename, makeOptions(), extra)
  plain.events = comparable(plain.events)
  profiled.events = comparable(profiled.events)
  return { plain, profiled }
}

// The fixtures exit by themselves; terminating them would race that exit.
const exitAfterReport = {}

test('the patch is in place and ProfiledWorker is a Worker', () => {
  assert.notEqual(ProfiledWorker, PlainWorker)
  const w = new ProfiledWorker('0', { eval: true })
  assert.ok(w instanceof PlainWorker)
  assert.equal(w.constructor.name, 'Worker')
  return w.terminate()
})

test('workerData inside the worker is exactly what the user passed', async () => {
  const cases = [
    () => ({}),
    () => ({ workerData: undefined }),
    () => ({ workerData: null }),
    () => ({ workerData: 0 }),
    () => ({ workerData: 'text' }),
    () => ({ workerData: { a: [1, { b: 2n }], __profiledWorkerEnvelope_v1: 'user key' } }),
  ]
  for (const make of cases) {
    const { plain, profiled } = await both(fixture('introspect.js'), make, exitAfterReport)
    assert.deepEqual(profiled.events, plain.events, pw.serialize(make()))
    assert.equal(profiled.events.events[0][1].envelopeVisible, false)
    assert.equal(profiled.events.online, 1)
  }
})

test('a SharedArrayBuffer in workerData stays shared', async () => {
  for (const W of [PlainWorker, ProfiledWorker]) {
    const sab = new SharedArrayBuffer(4)
    const { events } = await observe(
      W,
      fixture('introspect.js'),
      { workerData: sab },
      exitAfterReport,
    )
    assert.deepEqual(events.find(([e]) => e === 'message')[1].workerData, { sab: 0 })
    assert.equal(new Int32Array(sab)[0], 42, W === PlainWorker ? 'plain' : 'profiled')
  }
})

test('a MessagePort passed in workerData with transferList works', async () => {
  for (const W of [PlainWorker, ProfiledWorker]) {
    const { port1, port2 } = new wt.MessageChannel()
    const got = new Promise((resolve) => port1.once('message', resolve))
    const { events } = await observe(
      W,
      fixture('introspect.js'),
      { workerData: { port: port2 }, transferList: [port2] },
      exitAfterReport,
    )
    assert.deepEqual(events.find(([e]) => e === 'message')[1].keys, ['port'])
    assert.equal(await got, 'via user port')
    port1.close()
  }
})

test('process.execArgv in the worker is what plain Node shows; nothing of ours leaks', async () => {
  for (const make of [
    () => ({}),
    () => ({ execArgv: ['--no-warnings'] }),
    () => ({ execArgv: [] }),
  ]) {
    const { plain, profiled } = await both(fixture('introspect.js'), make, exitAfterReport)
    assert.deepEqual(profiled.events.events[0][1].execArgv, plain.events.events[0][1].execArgv)
    assert.ok(!JSON.stringify(profiled.events).includes('runtime'), 'no trace of the runtime path')
  }
})

test('the parent’s execArgv and the user’s options object are never mutated', async () => {
  const before = [...process.execArgv]
  const options = Object.freeze({
    workerData: Object.freeze({ a: 1 }),
    execArgv: Object.freeze(['--no-warnings']),
    transferList: Object.freeze([]),
  })
  await observe(ProfiledWorker, fixture('introspect.js'), options, exitAfterReport)
  assert.deepEqual(process.execArgv, before)
  assert.deepEqual(options, { workerData: { a: 1 }, execArgv: ['--no-warnings'], transferList: [] })
})

test('an inherited process-wide flag (--max-old-space-size) does not break worker creation', () => {
  const r = runNode(
    `const wt = require('node:worker_threads'); const Plain = wt.Worker; require('.')
     const code = 'require("node:worker_threads").parentPort.postMessage(process.execArgv)'
     const seen = (W) => new Promise((resolve) => new W(code, { eval: true }).once('message', resolve))
     Promise.all([seen(Plain), seen(wt.Worker)]).then(([a, b]) => console.log(JSON.stringify({ a, b })))`,
    { args: ['--max-old-space-size=200'] },
  )
  assert.equal(r.status, 0, r.stderr)
  const { a, b } = JSON.parse(r.stdout)
  assert.ok(a.includes('--max-old-space-size=200'))
  assert.deepEqual(b, a)
})

test('eval, .mjs, URL and data: filenames, argv, env, name, resourceLimits behave as plain', async () => {
  const code = `const wt = require('node:worker_threads'); wt.parentPort.postMessage({ d: wt.workerData, argv: process.argv.slice(2), env: process.env.PW_TEST, name: typeof wt.threadName })`
  const scenarios = [
    [
      code,
      () => ({ eval: true, workerData: 5, argv: ['x', 1], env: { PW_TEST: 'own' }, name: 'n1' }),
    ],
    [
      code,
      () => ({ eval: true, env: wt.SHARE_ENV, resourceLimits: { maxOldGenerationSizeMb: 64 } }),
    ],
    [fixture('esm-worker.mjs'), () => ({ workerData: { m: 1 } })],
    [pathToFileURL(fixture('esm-worker.mjs')), () => ({ workerData: [1] })],
    [
      new URL(
        `data:text/javascript,import { parentPort, workerData } from 'node:worker_threads'; parentPort.postMessage({ workerData, execArgv: process.execArgv })`,
      ),
      () => ({ workerData: 'd' }),
    ],
  ]
  process.env.PW_TEST = 'shared'
  for (const [filename, make] of scenarios) {
    const { plain, profiled } = await both(filename, make, exitAfterReport)
    assert.deepEqual(profiled.events, plain.events, String(filename).slice(0, 60))
  }
})

test('stdout/stderr: true give the same streams', async () => {
  for (const W of [PlainWorker, ProfiledWorker]) {
    const w = new W(`console.log('to stdout'); console.error('to stderr')`, {
      eval: true,
      stdout: true,
      stderr: true,
    })
    let out = ''
    let err = ''
    w.stdout.on('data', (d) => (out += d))
    w.stderr.on('data', (d) => (err += d))
    await new Promise((r) => w.on('exit', r))
    assert.deepEqual([out, err], ['to stdout\n', 'to stderr\n'])
  }
})

test('events arrive with the same arguments and order (messages, error, exit codes)', async () => {
  const runs = [{ send: ['a', { b: 1 }, 'throw'] }, { send: ['a', 'exit:3'] }, { send: ['exit:0'] }]
  for (const extra of runs) {
    const { plain, profiled } = await both(fixture('echo.js'), () => ({}), extra)
    assert.deepEqual(profiled.events, plain.events, JSON.stringify(extra.send))
  }
})

test('on/once/off/removeListener all work', async () => {
  const w = new ProfiledWorker(fixture('echo.js'))
  const seen = []
  const removed = (m) => seen.push(['removed', m])
  const offed = (m) => seen.push(['offed', m])
  w.on('message', removed)
  w.on('message', offed)
  w.once('message', (m) => seen.push(['once', m]))
  w.removeListener('message', removed)
  w.off('message', offed)
  w.on('message', (m) => {
    seen.push(['on', m])
    if (m === 2) w.postMessage('exit:0')
  })
  w.postMessage(1)
  w.postMessage(2)
  await new Promise((r) => w.on('exit', r))
  assert.deepEqual(seen, [
    ['once', 1],
    ['on', 1],
    ['on', 2],
  ])
})

/**
 * Block worker `W` (dispatch-turn.js) in Atomics.wait, post 200 messages meanwhile
 * (`post(w, i)`), release it; resolve with its log and the echoes, in order.
 */
async function sendWhileBlocked(W, post) {
  const shared = new SharedArrayBuffer(4)
  const flag = new Int32Array(shared)
  const w = new W(fixture('dispatch-turn.js'), { workerData: shared })
  const echoes = []
  const all = new Promise((resolve) =>
    w.on('message', (m) => {
      if (Array.isArray(m)) return resolve(m)
      echoes.push(m)
    }),
  )
  w.postMessage('block')
  // This thread blocks here too: a message held back in this thread's event loop never
  // reaches the worker, and the wait times out.
  assert.equal(Atomics.wait(flag, 0, 0, 30_000), 'ok', 'the worker got "block" during postMessage')
  for (let i = 0; i < 200; i++) post(w, i)
  Atomics.store(flag, 0, 2)
  Atomics.notify(flag, 0)
  await within(
    new Promise((resolve) =>
      (function poll() {
        echoes.length === 200 ? resolve() : setImmediate(poll)
      })(),
    ),
    'the 200 echoes',
  )
  w.postMessage('report')
  const log = await within(all, 'the log')
  await w.terminate()
  return { log, echoes }
}

test('messages are never delayed or reordered, in or out of profiles: dispatched in the turn they arrive, as with the plain Worker', async () => {
  const profiles = []
  const plain = await sendWhileBlocked(PlainWorker, (w, i) => w.postMessage(i))
  const profiled = await sendWhileBlocked(ProfiledWorker, (w, i) => {
    // Alternate between a fresh profiled context and no profile, within one tick.
    if (i % 3 === 0) profiles.push(pw.runProfile(() => w.postMessage(i), { mainThread: false }))
    else w.postMessage(i)
  })
  // Messages queued while the worker was blocked all run in the one turn that drains the
  // port: before a microtask, setImmediate or timer scheduled just before them.
  const expected = ['microtask', ...Array(200).keys()]
  assert.deepEqual(plain.log.slice(0, 201), expected, 'plain Node, as the check expects')
  assert.deepEqual(profiled.log.slice(0, 201), plain.log.slice(0, 201))
  assert.deepEqual(profiled.echoes, [...Array(200).keys()])
  await Promise.all(profiles)
})

test('no global side effect in a worker until a profile involves it', async () => {
  const { plain, profiled } = await both(fixture('introspect.js'), () => ({}), exitAfterReport)
  const p = plain.events.events[0][1]
  const q = profiled.events.events[0][1]
  assert.deepEqual(q.globals, p.globals)
  assert.deepEqual(q.listeners, p.listeners)
  assert.equal(q.parentPortListeners, p.parentPortListeners)
  assert.deepEqual(q.envKeys, [])
  assert.equal(q.inspectorLoaded, false, 'no inspector session in an idle worker')
  assert.equal(q.addonLoaded, false, 'no native addon in an idle worker')
})

test('worker.unref() lets the process exit, and finished workers never hold it', () => {
  const unref = runNode(
    `require('.'); const { Worker } = require('node:worker_threads')
     const w = new Worker('setInterval(() => {}, 1000)', { eval: true }); w.unref()`,
    { timeout: 15_000 },
  )
  assert.equal(unref.status, 0, unref.stderr)
  const finished = runNode(
    `const pw = require('.'); const { Worker } = require('node:worker_threads')
     pw.runProfile(async () => {
       const w = new Worker('let x = 0; for (let i = 0; i < 1e6; i++) x += i', { eval: true })
       await new Promise((r) => w.on('exit', r))
       const idle = new Worker('0', { eval: true })
     }).then(({ report }) => console.log('threads', report.threads.length))`,
    { timeout: 15_000 },
  )
  assert.equal(finished.status, 0, finished.stderr)
  assert.match(finished.stdout, /threads 3/) // main + both workers created inside the profile
})

test('nested workers behave as with the plain Worker', async () => {
  const inner = `const { parentPort, workerData } = require('node:worker_threads'); parentPort.postMessage({ inner: workerData ?? null, execArgv: process.execArgv })`
  const { plain, profiled } = await both(
    fixture('nested.js'),
    () => ({ workerData: { code: inner } }),
    {},
  )
  // `isProfiled` is the one thing meant to differ: the nested Worker class is patched too.
  const strip = (events) =>
    events.map(([e, a]) => [e, a && typeof a === 'object' ? { ...a, isProfiled: undefined } : a])
  assert.deepEqual(strip(profiled.events.events), strip(plain.events.events))
  assert.deepEqual(profiled.events.internal, plain.events.internal)
  const nestedMsg = profiled.events.events.find(([e, a]) => e === 'message' && a.nested)
  assert.equal(nestedMsg[1].isProfiled, true)
  assert.deepEqual(nestedMsg[1].nested, { inner: null, execArgv: process.execArgv })
})
