'use strict'
// Pools with default options (no contextQueue): a task that waits in the pool's queue
// counts for the request that submitted it. Each case runs a fresh app
// (fixtures/pools-auto/): four profiled requests at once on a one-thread pool, so one task
// is sent at once and three are sent later from the pool's own callbacks; each report
// must hold its own task's function and no other request's.

const test = require('node:test')
const assert = require('node:assert/strict')
const { fixture, runScript } = require('./helpers')

const [MAJOR] = process.versions.node.split('.').map(Number)
// Piscina 5 and tinypool 2 need Node ≥ 20; tinypool is ES modules only, so CommonJS apps
// reach it through require(esm).
const LIBS = [
  { kind: 'piscina', alias: 'piscina4', major: 4 },
  { kind: 'piscina', alias: 'piscina', major: 5, node: 20 },
  { kind: 'tinypool', alias: 'tinypool1', major: 1, esmOnly: true },
  { kind: 'tinypool', alias: 'tinypool', major: 2, node: 20, esmOnly: true },
  { kind: 'workerpool', alias: 'workerpool9', major: 9 },
  { kind: 'workerpool', alias: 'workerpool', major: 10 },
]

const APPS = {
  CommonJS: { file: 'app.js', preload: ['--require', 'profiled-worker'] },
  ESM: { file: 'app.mjs', preload: ['--import', 'profiled-worker/register'] },
}

const ORDERS = {
  'pool-first': 'the pool, then profiled-worker',
  'pw-first': 'profiled-worker, then the pool',
  preloaded: 'profiled-worker preloaded',
}

function skipFor(lib, system) {
  if (lib.node && MAJOR < lib.node) return `${lib.alias} needs Node ≥ ${lib.node}`
  if (system === 'CommonJS' && lib.esmOnly && !process.features.require_module) {
    return 'tinypool is ES modules only, and this Node has no require(esm)'
  }
  return false
}

/** Run a fixture app; its last stdout line is the scenario's JSON result. */
function runApp(file, { env = {}, args = [] } = {}) {
  const r = runScript(fixture(`pools-auto/${file}`), { env, args, timeout: 90_000 })
  const detail = `exit ${r.status} ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  assert.equal(r.status, 0, detail)
  return JSON.parse(r.stdout.trim().split('\n').at(-1))
}

// counts[i][j]: samples of request j's task function in request i's report.
function assertOwn({ counts, statuses }, what) {
  what = `${what} (threads per request: ${JSON.stringify(statuses)})`
  assert.equal(counts.length, 4, what)
  // An idle pool worker parks in Atomics.wait: its stop must be answered all the same.
  for (const row of statuses)
    for (const s of row) assert.match(s, /^ok\//, `${what}: a stop timed out`)
  for (const [i, row] of counts.entries()) {
    for (const [j, n] of row.entries()) {
      if (i === j) assert.ok(n > 0, `${what}: request ${i}'s report lacks its own task [${row}]`)
      else assert.equal(n, 0, `${what}: request ${i}'s report has request ${j}'s task [${row}]`)
    }
  }
}

for (const lib of LIBS) {
  for (const [system, app] of Object.entries(APPS)) {
    for (const [order, how] of Object.entries(ORDERS)) {
      const name = `${lib.kind} ${lib.major}, ${system}, ${how}: four queued requests each get their own task`
      test(name, { skip: skipFor(lib, system) }, () => {
        const result = runApp(app.file, {
          env: { POOL: `${lib.kind}:${lib.alias}`, ORDER: order },
          args: order === 'preloaded' ? app.preload : [],
        })
        assertOwn(result, `${lib.alias} ${system} ${order}`)
      })
    }
  }
}

// A queue of the app's own (plain, not tracked): the queued task still finds its request.
for (const lib of LIBS.filter((l) => l.alias !== 'workerpool9')) {
  const system = lib.esmOnly ? 'ESM' : 'CommonJS'
  test(
    `${lib.kind} ${lib.major}, a task queue of the app's own: four queued requests each get their own task`,
    { skip: skipFor(lib, system) },
    () => {
      const result = runApp(APPS[system].file, {
        env: { POOL: `${lib.kind}:${lib.alias}`, ORDER: 'pw-first', QUEUE: 'own' },
      })
      assert.ok(
        result.ownQueuePushes >= 3,
        `the pool used the app's queue: ${result.ownQueuePushes}`,
      )
      assertOwn(result, `${lib.alias} own queue`)
    },
  )
}

// The requests come in the very tick that created the pool: its worker is not up, so
// every task waits (tinypool's class is reached synchronously only through require(esm)).
for (const lib of LIBS) {
  const noSyncEsm = lib.esmOnly && !process.features.require_module && 'no require(esm) here'
  test(
    `${lib.kind} ${lib.major}, requests in the tick that creates the pool: each gets its own task`,
    { skip: skipFor(lib, 'ESM') || noSyncEsm },
    () => {
      const result = runApp('app.mjs', {
        env: { POOL: `${lib.kind}:${lib.alias}`, ORDER: 'pw-first', SAME_TICK: '1' },
      })
      assertOwn(result, `${lib.alias} same tick`)
    },
  )
}

// One module graph, imported statically: both modules are linked before either runs.
for (const order of ['pool-first', 'pw-first']) {
  test(
    `tinypool 2, static ESM imports, ${ORDERS[order]}: four queued requests each get their own task`,
    { skip: MAJOR < 20 && 'tinypool 2 needs Node ≥ 20' },
    () => assertOwn(runApp(`static-${order}.mjs`), `static ${order}`),
  )
}

test('a pool major we do not know is left alone and works as it does today', () => {
  const result = runApp('unknown/app.js')
  assert.equal(result.state, 'skipped')
  assert.equal(result.runUntouched, true, 'Piscina.prototype.run is the package’s own')
  // As without the instrumentation: the task sent at once is its request's; the queued
  // ones count for nobody, and never for another request.
  const [first, ...rest] = result.counts
  assert.ok(first[0] > 0, `the first request's own task [${first}]`)
  for (const [i, row] of result.counts.entries()) {
    for (const [j, n] of row.entries()) if (i !== j) assert.equal(n, 0, `request ${i} has ${j}'s`)
  }
  assert.ok(
    rest.every((row, i) => row[i + 1] === 0),
    `queued tasks count for nobody: ${rest}`,
  )
})

test('PROFILED_WORKER_POOLS=off leaves a known pool as it is', { skip: MAJOR < 20 }, () => {
  const result = runApp('app.js', {
    env: { POOL: 'piscina:piscina', ORDER: 'pw-first', PROFILED_WORKER_POOLS: 'off' },
  })
  const [first, ...rest] = result.counts
  assert.ok(first[0] > 0, `the task sent at once is its request's [${first}]`)
  assert.deepEqual(
    rest.map((row) => row.every((n) => n === 0)),
    [true, true, true],
    `the queued tasks count for nobody: ${JSON.stringify(rest)}`,
  )
})
