'use strict'
// Continuous profiling (startContinuous, --pyroscope, --otlp) against receivers on
// loopback, each push decoded with the format's reference readers: the multipart body
// with Go's mime/multipart (as Pyroscope's server reads it), the pprof with pprof-format
// and `go tool pprof`, OTLP with the generated classes of the PyPI opentelemetry-proto
// package. Without go or python3 + opentelemetry-proto these tests skip, except under
// CI=1, where they fail (.ci/run installs both).

const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const http = require('node:http')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { gunzipSync } = require('node:zlib')
const { AsyncLocalStorage } = require('node:async_hooks')
const { Profile: PprofProfile } = require('pprof-format')
const pw = require('..')
// After require('..'), which patches it.
const { Worker } = require('node:worker_threads')

const FIXTURES = path.join(__dirname, 'fixtures', 'continuous')
const SPIN = path.join(FIXTURES, 'spin-worker.js')
const ROOT = path.resolve(__dirname, '..')
const toolEnv = { ...process.env, HOME: os.tmpdir(), PPROF_TMPDIR: os.tmpdir() }

/** The tool is there, or the test skips (locally) or fails (CI=1). */
function need(t, ok, what, install) {
  if (ok) return true
  if (process.env.CI) assert.fail(`${what} is required in CI (${install})`)
  t.skip(`${what} not installed (${install})`)
  return false
}
const haveGo = () => !spawnSync('go', ['version']).error
const havePythonProto = () =>
  spawnSync('python3', ['-c', 'import opentelemetry.proto.profiles.v1development.profiles_pb2'])
    .status === 0

/** An HTTP server on loopback that records every request and answers with `answer`. */
async function receiver(answer = (req, res) => res.end('ok')) {
  const got = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (d) => chunks.push(d))
    req.on('end', () => {
      got.push({
        method: req.method,
        url: new URL(req.url, 'http://x'),
        headers: req.headers,
        body: Buffer.concat(chunks),
      })
      answer(req, res)
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    got,
    close: () => new Promise((r) => server.close(r)),
    server,
  }
}

/** Resolves once `n` periods have been assembled. */
async function untilPeriods(handle, n) {
  while (handle.stats().periods < n) await new Promise((r) => setTimeout(r, 20))
}

const ask = (w, ms) =>
  new Promise((resolve) => {
    w.once('message', resolve)
    w.postMessage({ ms })
  })

/** Some periods of an app: a request that keeps a pooled worker busy, and a worker that comes and goes. */
async function app(name) {
  const pooled = new Worker(SPIN)
  await ask(pooled, 0) // started before the request, shared with it through messages
  const pooledId = pooled.threadId // -1 once it exits
  await pw.runProfile(() => ask(pooled, 400), { name })
  const brief = new Worker(SPIN, { workerData: { once: 300 } })
  const briefId = brief.threadId
  await new Promise((r) => brief.once('exit', r))
  await pooled.terminate()
  return { pooledId, briefId }
}

/** The part `profile` of an ingest request, as Go's mime/multipart reads it. */
function profilePart(req) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-ingest-'))
  fs.writeFileSync(path.join(dir, 'body'), req.body)
  const r = spawnSync(
    'go',
    [
      'run',
      path.join(FIXTURES, 'pyroscope-form.go'),
      path.join(dir, 'body'),
      req.headers['content-type'],
      path.join(dir, 'profile.pb.gz'),
    ],
    { encoding: 'utf8', env: toolEnv, timeout: 120_000 },
  )
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), ['profile'])
  return path.join(dir, 'profile.pb.gz')
}

/** pprof samples as { n, thread_id, thread_name, labels..., leafs: function names }. */
function pprofSamples(file) {
  const p = PprofProfile.decode(gunzipSync(fs.readFileSync(file)))
  const str = (i) => p.stringTable.strings[Number(i)]
  const fnOf = new Map(p.function.map((f) => [Number(f.id), str(f.name)]))
  const locOf = new Map(
    p.location.map((l) => [Number(l.id), fnOf.get(Number(l.line[0].functionId))]),
  )
  const types = p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)
  return {
    types,
    durationNanos: Number(p.durationNanos),
    period: Number(p.period),
    samples: p.sample.map((s) => {
      const labels = {}
      for (const l of s.label) labels[str(l.key)] = l.str ? str(l.str) : Number(l.num)
      return {
        n: Number(s.value[0]),
        labels,
        stack: s.locationId.map((id) => locOf.get(Number(id))),
      }
    }),
  }
}

test('startContinuous → Pyroscope: one ingest per period, the gzipped pprof in the part profile, labelled', async (t) => {
  if (!need(t, haveGo(), 'go', 'apt-get install golang-go')) return
  const rx = await receiver()
  const handle = pw.startContinuous({
    serviceName: 'svc',
    // Long, so that the request's work falls inside one period (see the README's limits:
    // a period that starts while a worker is busy has it only from its next turn).
    periodMs: 2000,
    pyroscope: {
      url: rx.url,
      tags: { env: 'test' },
      basicAuthUser: 'u',
      basicAuthPassword: 'p',
      tenantId: 't-1',
    },
  })
  const { pooledId, briefId } = await app('GET /spin')
  await untilPeriods(handle, 1)
  const stats = await handle.stop()
  await rx.close()

  assert.ok(stats.periods >= 2, JSON.stringify(stats))
  assert.deepEqual(
    { ...stats.exporters.pyroscope, bytes: 0, lastError: null },
    {
      sent: stats.periods,
      failed: 0,
      dropped: 0,
      retried: 0,
      encodeErrors: 0,
      bytes: 0,
      queued: 0,
      lastError: null,
    },
  )
  assert.equal(rx.got.length, stats.periods)
  const all = []
  for (const req of rx.got) {
    assert.equal(req.method, 'POST')
    assert.equal(req.url.pathname, '/ingest')
    const q = Object.fromEntries(req.url.searchParams)
    assert.deepEqual(
      { ...q, from: 0, until: 0 },
      {
        name: 'svc.cpu{env=test}',
        from: 0,
        until: 0,
        sampleRate: '100',
        spyName: 'nodespy',
        format: 'pprof',
      },
    )
    // Periods may arrive in any order (each is sent once encoded); each is a whole second range.
    assert.ok(Number(q.from) <= Number(q.until), `${q.from} ${q.until}`)
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`)
    assert.equal(req.headers['x-scope-orgid'], 't-1')
    const file = profilePart(req)
    const { types, samples, durationNanos, period } = pprofSamples(file)
    assert.deepEqual(types, ['samples/count', 'wall/nanoseconds'])
    assert.equal(period, 10_000_000)
    // The request's profile samples at 1 ms (runProfile's default) while it runs; Pyroscope
    // counts samples at sampleRate, so no thread may have more than the period's rate gives.
    const perThread = new Map()
    for (const s of samples)
      perThread.set(s.labels.thread_id, (perThread.get(s.labels.thread_id) ?? 0) + s.n)
    for (const [id, n] of perThread)
      assert.ok(n <= Math.floor(durationNanos / period) + 1, `thread ${id}: ${n} samples`)
    all.push(...samples)
  }
  for (const s of all) {
    assert.equal(typeof s.labels.thread_id, 'number', JSON.stringify(s))
    assert.equal(typeof s.labels.thread_name, 'string', JSON.stringify(s))
  }
  const count = (f) => all.filter(f).reduce((a, s) => a + s.n, 0)
  const spin = (s) => s.stack.includes('spinFor')
  // The request's work in the pooled worker carries its name; the worker's other time does not.
  assert.ok(
    count(
      (s) => s.labels.thread_id === pooledId && spin(s) && s.labels.profile_name === 'GET /spin',
    ) > 0,
  )
  assert.equal(
    count((s) => s.labels.thread_id === pooledId && spin(s) && s.labels.profile_name === undefined),
    0,
  )
  // A worker that came and went inside a period is in it, and worked for no request.
  assert.ok(count((s) => s.labels.thread_id === briefId && spin(s)) > 0)
  assert.equal(
    count((s) => s.labels.thread_id === briefId && s.labels.profile_name !== undefined),
    0,
  )
  assert.ok(count((s) => s.labels.thread_id === 0) > 0)

  // The reference reader reads the same profile.
  const r = spawnSync('go', ['tool', 'pprof', '-traces', profilePart(rx.got[0])], {
    encoding: 'utf8',
    env: toolEnv,
    timeout: 120_000,
  })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /thread_name:/)
})

/** A context manager over AsyncLocalStorage: what an OpenTelemetry SDK registers. */
function alsContextManager(api) {
  const als = new AsyncLocalStorage()
  return {
    active: () => als.getStore() ?? api.ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => als.run(ctx, () => fn.apply(thisArg, args)),
    bind: (ctx, target) => target,
    enable() {
      return this
    },
    disable() {
      return this
    },
  }
}

test('startContinuous → OTLP: ExportProfilesServiceRequest with resource, thread attributes and the span link', async (t) => {
  if (
    !need(
      t,
      havePythonProto(),
      'python3 with opentelemetry-proto',
      'pip install opentelemetry-proto',
    )
  )
    return
  const api = require('@opentelemetry/api')
  api.context.setGlobalContextManager(alsContextManager(api))
  t.after(() => api.context.disable())
  const traceId = '0af7651916cd43dd8448eb211c80319c'
  const spanId = 'b7ad6b7169203331'
  process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=test,team=a%2Cb'
  t.after(() => delete process.env.OTEL_RESOURCE_ATTRIBUTES)
  const rx = await receiver()
  const handle = pw.startContinuous({ serviceName: 'svc2', periodMs: 2000, otlp: rx.url })
  const pooled = new Worker(SPIN)
  await ask(pooled, 0)
  const pooledId = pooled.threadId
  const span = api.trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 })
  await api.context.with(api.trace.setSpan(api.context.active(), span), () =>
    pw.runProfile(() => ask(pooled, 400), { name: 'POST /traced' }),
  )
  await pooled.terminate()
  await untilPeriods(handle, 1)
  const stats = await handle.stop()
  await rx.close()
  assert.equal(stats.exporters.otlp.sent, stats.periods)
  assert.equal(rx.got.length, stats.periods)

  const samples = []
  for (const req of rx.got) {
    assert.equal(req.url.pathname, '/v1development/profiles')
    assert.equal(req.headers['content-type'], 'application/x-protobuf')
    const r = spawnSync('python3', [path.join(FIXTURES, 'otlp-decode.py')], {
      input: req.body,
      maxBuffer: 64 << 20,
    })
    assert.equal(r.status, 0, String(r.stderr))
    const d = JSON.parse(r.stdout)
    assert.deepEqual(Object.values(d.zeroes), [true, true, true, true, true, true])
    assert.equal(d.resources.length, 1)
    const res = d.resources[0]
    assert.equal(res.attributes['service.name'], 'svc2')
    assert.equal(res.attributes['deployment.environment'], 'test')
    assert.equal(res.attributes.team, 'a,b')
    assert.equal(res.profiles.length, 1)
    const p = res.profiles[0]
    assert.equal(p.scope, 'profiled-worker')
    assert.deepEqual(p.sample_type, ['samples', 'count'])
    assert.equal(p.period, 10_000_000)
    samples.push(...p.samples)
  }
  for (const s of samples) {
    assert.equal(typeof s.attributes['thread.id'], 'number')
    assert.equal(typeof s.attributes['thread.name'], 'string')
  }
  const traced = samples.filter((s) => s.attributes.profile_name === 'POST /traced')
  assert.ok(
    traced.some((s) => s.attributes['thread.id'] === pooledId && s.stack.includes('spinFor')),
  )
  for (const s of traced) assert.deepEqual([s.trace_id, s.span_id], [traceId, spanId])
  for (const s of samples.filter((x) => x.attributes.profile_name === undefined))
    assert.deepEqual([s.trace_id, s.span_id], ['', ''])
})

test('a backend that fails, answers garbage or never answers changes nothing for the app: drops are counted', async () => {
  let n = 0
  const bad = await receiver((req, res) => {
    n++
    if (n % 2) res.writeHead(503).end('busy')
    else res.writeHead(400, { 'Content-Type': 'text/html' }).end(Buffer.alloc(100_000, 0xff))
  })
  const silent = await receiver(() => {}) // reads the body, never answers
  const handle = pw.startContinuous({
    periodMs: 200,
    pyroscope: bad.url,
    otlp: silent.url,
    retries: 1,
    backoffMs: 1,
    timeoutMs: 300,
    queueSize: 1,
    flushTimeoutMs: 1000,
  })
  const w = new Worker(SPIN)
  const calls = await ask(w, 500)
  assert.ok(calls > 0)
  await w.terminate()
  const stats = await handle.stop()
  const p = stats.exporters.pyroscope
  const o = stats.exporters.otlp
  assert.equal(p.sent, 0)
  assert.equal(o.sent, 0)
  // Every period is accounted for: given up, dropped from the full queue, or still queued.
  assert.equal(p.failed + p.dropped + p.queued, stats.periods, JSON.stringify(p))
  assert.equal(o.failed + o.dropped + o.queued, stats.periods, JSON.stringify(o))
  assert.ok(p.retried > 0 && /HTTP (503|400)/.test(p.lastError), JSON.stringify(p))
  assert.match(o.lastError, /no answer within 300 ms/)
  bad.server.closeAllConnections()
  silent.server.closeAllConnections()
  await Promise.all([bad.close(), silent.close()])
})

test('continuous profiling never keeps the app alive, even with a backend that never answers', async () => {
  const silent = await receiver(() => {})
  const code = `
    const pw = require(${JSON.stringify(ROOT)})
    pw.startContinuous({ periodMs: 100, pyroscope: ${JSON.stringify(silent.url)}, timeoutMs: 600000 })
    const { Worker } = require('node:worker_threads')
    const w = new Worker(${JSON.stringify(SPIN)}, { workerData: { once: 300 } })
    w.on('exit', () => console.log('app done'))
  `
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const status = await new Promise((resolve) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL')
      resolve('hung')
    }, 60_000)
    child.on('exit', (c) => {
      clearTimeout(guard)
      resolve(c)
    })
  })
  silent.server.closeAllConnections()
  await silent.close()
  assert.equal(status, 0, out)
  assert.match(out, /app done/)
  assert.ok(silent.got.length > 0, 'it did push')
})

test('options are checked at start; one continuous profiler at a time', async () => {
  assert.throws(() => pw.startContinuous({ periodMs: 10 }), /periodMs/)
  assert.throws(() => pw.startContinuous({ nope: 1 }), /nope/)
  assert.throws(() => pw.startContinuous({ pyroscope: 'localhost:4040' }), /http\(s\) URL/)
  assert.throws(
    () => pw.startContinuous({ pyroscope: { url: 'http://x', tags: { 'a b': 'c' } } }),
    /valid label/,
  )
  const h = pw.startContinuous({ periodMs: 1000 })
  assert.throws(() => pw.startContinuous(), /already running/)
  const stats = await h.stop()
  assert.equal(stats.periods, 1)
  assert.equal(stats.running, false)
  await pw.startContinuous({ periodMs: 1000 }).stop()
})

test('CLI: --pyroscope and --otlp push every --every window, and --out writes the files too', async (t) => {
  const rx = await receiver()
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-cli-push-'))
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'profiled-worker.js'),
      '--pyroscope',
      rx.url,
      '--otlp',
      rx.url,
      '--every',
      '300ms',
      '--out',
      out,
      '--first-only',
      '--',
      process.execPath,
      path.join(__dirname, 'fixtures', 'cli', 'app.js'),
      'fib',
      '700',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT },
  )
  let text = ''
  child.stdout.on('data', (d) => (text += d))
  child.stderr.on('data', (d) => (text += d))
  const code = await new Promise((r) => child.on('exit', r))
  await rx.close()
  assert.equal(code, 0, text)
  const ingests = rx.got.filter((g) => g.url.pathname === '/ingest')
  const otlp = rx.got.filter((g) => g.url.pathname === '/v1development/profiles')
  assert.ok(ingests.length >= 2, text)
  assert.equal(otlp.length, ingests.length)
  assert.equal(ingests[0].url.searchParams.get('name'), 'app.cpu{}')
  const windows = fs.readdirSync(out).filter((d) => d.startsWith('window-'))
  assert.equal(windows.length, ingests.length)
  assert.ok(fs.existsSync(path.join(out, windows[0], 'profile.pb.gz')))
  if (need(t, haveGo(), 'go', 'apt-get install golang-go')) {
    const samples = ingests.flatMap((g) => pprofSamples(profilePart(g)).samples)
    assert.ok(
      samples.some((s) => s.stack.includes('fibWorkerFib') && s.labels.thread_id > 0),
      'the worker computing fib is in a period',
    )
  }
})

test('a worker made from a request’s context after the period changed joins the running period', async (t) => {
  if (!need(t, haveGo(), 'go', 'apt-get install golang-go')) return
  const rx = await receiver()
  // Long enough for the late worker to start and do its work inside the second period.
  const handle = pw.startContinuous({ periodMs: 2000, pyroscope: rx.url })
  let lateId
  await pw.runProfile(
    async () => {
      // The request's context holds the first period, which stops here.
      await untilPeriods(handle, 1)
      const late = new Worker(SPIN)
      lateId = late.threadId
      await new Promise((r) => setImmediate(r))
      await ask(late, 150)
      await late.terminate()
    },
    { name: 'late' },
  )
  await handle.stop()
  await rx.close()
  const samples = rx.got.flatMap((g) => pprofSamples(profilePart(g)).samples)
  const own = samples.filter((s) => s.labels.thread_id === lateId && s.stack.includes('spinFor'))
  assert.ok(own.length > 0, 'the late worker’s work is in a period')
  for (const s of own) assert.equal(s.labels.profile_name, 'late')
})
