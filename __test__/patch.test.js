'use strict'
// require('profiled-worker') replaces worker_threads.Worker: idempotent, reversible, seen
// by ESM imports, and installable before the app starts (--require / --import).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pathToFileURL } = require('node:url')
const wt = require('node:worker_threads')

const PlainWorker = wt.Worker // captured before the patch
const pw = require('..')
const { ROOT, runNode, runScript, within } = require('./helpers')

const MARK = Symbol.for('profiled-worker.class')

test('require() patches worker_threads.Worker with a subclass that looks like Worker', () => {
  assert.notEqual(wt.Worker, PlainWorker)
  assert.equal(pw.isPatched(), true)
  assert.equal(wt.Worker[MARK], true)
  assert.equal(Object.getPrototypeOf(wt.Worker), PlainWorker)
  assert.equal(wt.Worker.name, 'Worker')
})

test('patching again is idempotent: require, patch() and makeProfiledWorker keep the same class', () => {
  const patched = wt.Worker
  assert.equal(require('..'), pw)
  assert.equal(pw.patch(), patched)
  assert.equal(wt.Worker, patched)
  assert.equal(pw.makeProfiledWorker(patched, wt.MessageChannel), patched)
  // A second copy of the package (a fresh module registry) recognises the patch too.
  const r = runNode(`
    const wt = require('node:worker_threads')
    const Plain = wt.Worker
    require('.')
    const first = wt.Worker
    for (const key of Object.keys(require.cache)) delete require.cache[key]
    const again = require('.')
    console.log(JSON.stringify({ patched: first !== Plain, same: wt.Worker === first, isPatched: again.isPatched() }))`)
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { patched: true, same: true, isPatched: true })
})

test('unpatch() restores the original Worker (for ESM too) and patch() patches again', async (t) => {
  t.after(() => pw.patch()) // leave the patch in place, whatever happens here
  const esm = await import('node:worker_threads')
  assert.equal(esm.Worker, wt.Worker)

  pw.unpatch()
  assert.equal(wt.Worker, PlainWorker)
  assert.equal(pw.isPatched(), false)
  assert.equal(esm.Worker, PlainWorker, 'the ESM binding follows')
  pw.unpatch() // a no-op when not patched
  assert.equal(wt.Worker, PlainWorker)
  // Unpatched, a worker created inside a profile is not profiled.
  let plainId
  const { report: unprofiled } = await within(
    pw.runProfile(
      async () => {
        const w = new wt.Worker('0', { eval: true })
        plainId = w.threadId
        await new Promise((resolve) => w.once('exit', resolve))
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  assert.equal(unprofiled.thread(plainId), undefined)

  const repatched = pw.patch()
  assert.equal(wt.Worker, repatched)
  assert.notEqual(repatched, PlainWorker)
  assert.equal(pw.isPatched(), true)
  assert.equal(esm.Worker, repatched, 'the ESM binding follows')
  let id
  const { report } = await within(
    pw.runProfile(
      async () => {
        const w = new wt.Worker('0', { eval: true })
        id = w.threadId
        await new Promise((resolve) => w.once('exit', resolve))
      },
      { mainThread: false },
    ),
    'runProfile',
  )
  assert.ok(report.thread(id), 'profiled again')
})

test('makeProfiledWorker() checks its arguments', () => {
  const { makeProfiledWorker } = pw
  for (const bad of [undefined, null, {}, 'Worker', 1]) {
    assert.throws(() => makeProfiledWorker(bad, wt.MessageChannel), {
      name: 'TypeError',
      message: /: Worker must be/,
    })
  }
  for (const bad of [undefined, null, {}, 'MessageChannel']) {
    assert.throws(() => makeProfiledWorker(PlainWorker, bad), {
      name: 'TypeError',
      message: /: MessageChannel must be/,
    })
  }
  const Made = makeProfiledWorker(PlainWorker, wt.MessageChannel)
  assert.equal(Made[MARK], true)
  assert.equal(Object.getPrototypeOf(Made), PlainWorker)
})

test('a ProfiledWorker is a Worker', async () => {
  const w = new wt.Worker('setInterval(() => {}, 1000)', { eval: true })
  assert.ok(w instanceof PlainWorker)
  assert.ok(w instanceof wt.Worker)
  assert.equal(w.constructor, wt.Worker)
  await within(new Promise((resolve) => w.once('online', resolve)), "'online'")
  assert.equal(await within(w.terminate(), 'terminate()'), 1) // as a plain Worker's, once online
})

test('ESM: `import { Worker } from "node:worker_threads"` after the patch is the ProfiledWorker', () => {
  const code = `
    import pw from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'index.js')).href)}
    import { Worker } from 'node:worker_threads'
    import wt from 'node:worker_threads'
    const { report, result } = await pw.runProfile(async () => {
      const w = new Worker('0', { eval: true })
      const id = w.threadId // -1 once it has exited
      await new Promise((resolve) => w.once('exit', resolve))
      return id
    }, { mainThread: false })
    const dynamic = (await import('node:worker_threads')).Worker
    console.log(JSON.stringify({
      marked: Worker[Symbol.for('profiled-worker.class')] === true,
      same: Worker === wt.Worker && dynamic === Worker,
      inReport: report.thread(result) !== undefined,
    }))`
  const r = runNode(code, { args: ['--input-type=module'], timeout: 30_000 })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { marked: true, same: true, inReport: true })
})

// An app that takes Worker before it loads profiled-worker: only a preload can patch it.
const APP_CJS = `
'use strict'
const { Worker } = require('node:worker_threads') // before profiled-worker is loaded
const patchedAtStart = Worker[Symbol.for('profiled-worker.class')] === true
const { runProfile } = require(${JSON.stringify(ROOT)})
function appWork(ms) {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}
runProfile(async () => {
  const w = new Worker(appWork.toString() + '; appWork(150)', { eval: true, name: 'app-worker' })
  const id = w.threadId // -1 once it has exited
  await new Promise((resolve) => w.once('exit', resolve))
  return id
}, { mainThread: false }).then(({ result, report }) => {
  const t = report.thread(result)
  console.log(JSON.stringify({ patchedAtStart, inReport: Boolean(t), name: t && t.name, sampled: Boolean(t && t.profile.sampleCount > 0) }))
})
`
const APP_ESM = `
import { Worker as LiveWorker } from 'node:worker_threads'
const Worker = LiveWorker // as it is when the app starts
const patchedAtStart = Worker[Symbol.for('profiled-worker.class')] === true
const { runProfile } = (await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'index.js')).href)})).default
function appWork(ms) {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}
const { result, report } = await runProfile(async () => {
  const w = new Worker(appWork.toString() + '; appWork(150)', { eval: true, name: 'app-worker' })
  const id = w.threadId // -1 once it has exited
  await new Promise((resolve) => w.once('exit', resolve))
  return id
}, { mainThread: false })
const t = report.thread(result)
console.log(JSON.stringify({ patchedAtStart, inReport: Boolean(t), name: t && t.name, sampled: Boolean(t && t.profile.sampleCount > 0) }))
`

test('node --require index.js and node --import register.mjs patch before the app starts', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profiled-worker-patch-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const appCjs = path.join(dir, 'app.js')
  const appEsm = path.join(dir, 'app.mjs')
  fs.writeFileSync(appCjs, APP_CJS)
  fs.writeFileSync(appEsm, APP_ESM)
  assert.ok(fs.existsSync(path.join(ROOT, 'register.mjs')))

  const run = (app, args) => {
    const r = runScript(app, { args, timeout: 30_000 })
    assert.equal(r.status, 0, `${args.join(' ')} ${path.basename(app)}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const profiled = { patchedAtStart: true, inReport: true, name: 'app-worker', sampled: true }
  assert.deepEqual(run(appCjs, ['--require', path.join(ROOT, 'index.js')]), profiled)
  assert.deepEqual(
    run(appEsm, ['--import', pathToFileURL(path.join(ROOT, 'register.mjs')).href]),
    profiled,
  )
  // By package name, through the "exports" map (cwd is the package root: self-reference).
  assert.deepEqual(run(appEsm, ['--import', 'profiled-worker/register']), profiled)
  assert.deepEqual(run(appCjs, ['--require', 'profiled-worker']), profiled)

  // Without the preload, these apps keep the plain Worker: what the preload is for.
  const unprofiled = { patchedAtStart: false, inReport: false, sampled: false }
  assert.deepEqual(run(appCjs, []), unprofiled)
  assert.deepEqual(run(appEsm, []), unprofiled)
})

test('the "exports" map: the package, its register entry and package.json', () => {
  assert.equal(require('profiled-worker'), pw)
  assert.equal(require.resolve('profiled-worker/register'), path.join(ROOT, 'register.mjs'))
  assert.equal(require('profiled-worker/package.json').name, 'profiled-worker')
  assert.throws(() => require.resolve('profiled-worker/lib/main/api.js'), {
    code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
  })
})
