'use strict'
// The foundation end to end: the main thread and a worker each record a CPU profile with
// V8's own sampler (through the inspector), the worker sends its profile home, and the
// Rust core merges both threads and writes .cpuprofile, gzipped pprof and collapsed stacks.
//
//   npm run demo [-- --out DIR]

const fs = require('node:fs')
const path = require('node:path')
const { Session } = require('node:inspector')
const { Worker, isMainThread, parentPort, threadId } = require('node:worker_threads')
const { CpuProfile, mergeProfiles, threadCpuTime, monotonicToEpochNanos } = require('..')

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}

function renderPage(ms) {
  const end = Date.now() + ms
  let html = ''
  while (Date.now() < end) html = `<p>${fib(20)}</p>`.repeat(50)
  return html.length
}

async function profileThisThread(work) {
  const session = new Session()
  session.connect()
  const post = (m, p) =>
    new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))))
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 500 })
  const cpu0 = threadCpuTime()
  await post('Profiler.start')
  await work()
  const { profile } = await post('Profiler.stop')
  const cpuTimeNs = threadCpuTime() - cpu0
  session.disconnect()
  return { json: JSON.stringify(profile), cpuTimeNs }
}

if (!isMainThread) {
  // The worker: crunch numbers, then send its own profile home.
  profileThisThread(async () => {
    const end = Date.now() + 400
    while (Date.now() < end) fib(24)
  }).then((p) => parentPort.postMessage(p))
  return
}

async function main() {
  const outArg = process.argv.indexOf('--out')
  const outDir = path.resolve(outArg > 0 ? process.argv[outArg + 1] : 'profiles')
  fs.mkdirSync(outDir, { recursive: true })

  const worker = new Worker(__filename, { name: 'fib-worker' })
  const workerThreadId = worker.threadId // becomes -1 once the worker has exited
  const fromWorker = new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  const main = await profileThisThread(async () => {
    renderPage(300)
    await new Promise((r) => setTimeout(r, 50))
    renderPage(100)
  })
  const wk = await fromWorker
  await worker.terminate()

  const mainProfile = await CpuProfile.parseAsync(main.json)
  const report = mergeProfiles(
    [
      { profile: mainProfile, threadId, name: 'main', cpuTimeNs: main.cpuTimeNs },
      {
        profile: await CpuProfile.parseAsync(wk.json),
        threadId: workerThreadId,
        name: 'fib-worker',
        cpuTimeNs: wk.cpuTimeNs,
      },
    ],
    { profileId: 'demo' },
  )

  const written = []
  const write = (name, data) => {
    const file = path.join(outDir, name)
    fs.writeFileSync(file, data)
    written.push(file)
  }
  report.threads.forEach((t, i) =>
    write(`demo.thread-${t.threadId}-${t.name}.cpuprofile`, report.toCpuprofiles()[i]),
  )
  write(
    'demo.pb.gz',
    await report.toPprofAsync({ timeNanos: monotonicToEpochNanos(mainProfile.startTime) }),
  )
  write('demo.collapsed', await report.toCollapsedAsync())

  for (const t of report.threads) {
    console.log(
      `thread ${t.threadId} (${t.name}): ${t.sampleCount} samples, ${(Number(t.cpuTimeNs) / 1e6).toFixed(1)} ms CPU`,
    )
  }
  const top = (await report.toCollapsedAsync())
    .trim()
    .split('\n')
    .map((l) => [
      l.slice(0, l.lastIndexOf(' ')).split(';').pop(),
      Number(l.slice(l.lastIndexOf(' ') + 1)),
    ])
    .reduce((m, [f, n]) => m.set(f, (m.get(f) ?? 0) + n), new Map())
  console.log('top self-time frames:')
  for (const [f, n] of [...top].sort((a, b) => b[1] - a[1]).slice(0, 5))
    console.log(`  ${String(n).padStart(6)}  ${f}`)
  console.log('wrote:')
  for (const f of written) console.log(`  ${path.relative(process.cwd(), f)}`)
  console.log(
    'open a .cpuprofile in Chrome DevTools / VS Code / speedscope; `go tool pprof -top demo.pb.gz`',
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
