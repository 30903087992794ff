'use strict'
// bench/scenarios/main-split.js's app: a node:http server and 16 keep-alive clients in
// one process, for `windowMs` after a warm-up; prints the requests per second of wall
// time, per second of the main thread's CPU time (what a server's capacity is bound by)
// and per second of the process's CPU time (all its threads: V8's sampler, the libuv
// pool's report assembly). CPU time is disturbed far less than wall time by other work
// on a shared machine.
//
//   node http-requests.js ARM windowMs
//   ARM: plain (profiled-worker not loaded), patched (loaded, no profile),
//        split / whole (profiling on: a profile always active, each window of
//        PROFILE_MS in its own async context, and every PROFILED_EVERY-th request handled
//        in the current window's context, with the default split main thread or
//        mainThread: 'whole'). The windows rotate like the CLI's, so what differs between
//        split and whole is the cost of following contexts, not that of starting and
//        stopping profiles (the same in both).

const http = require('node:http')
const { AsyncResource } = require('node:async_hooks')
const { setImmediate: turn, setTimeout: sleep } = require('node:timers/promises')
const { performance } = require('node:perf_hooks')
const fs = require('node:fs')

const [arm, windowArg] = process.argv.slice(2)
const WINDOW_MS = Number(windowArg)
const WARMUP_MS = 500
const CLIENTS = 16
const PROFILED_EVERY = 4
const PROFILE_MS = 250
const pw = arm === 'plain' ? null : require('../../..')
const mainThread = arm === 'whole' ? 'whole' : true

const payload = { items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}` })) }
// The request's own work: a little CPU on either side of an await, as a handler does.
function renderRequest() {
  return JSON.stringify(JSON.parse(JSON.stringify(payload)))
}

// Runs a function in the current profile window's async context.
let inWindow = null
let stop = false
async function windows() {
  let last = null
  while (!stop) {
    let started
    const window = new Promise((resolve) => (started = resolve))
    const report = pw.runProfile(
      async () => {
        inWindow = AsyncResource.bind((fn) => fn())
        started()
        await sleep(PROFILE_MS)
      },
      { mainThread, name: 'window' },
    )
    await window
    await last
    last = report
    await sleep(PROFILE_MS)
  }
  await last
}

// The main thread's time on a CPU in ns, from the kernel's scheduler statistics (Linux),
// so that the plain arm loads nothing of ours to read it.
function mainThreadCpuNs() {
  return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
}

let served = 0
const server = http.createServer((req, res) => {
  const handle = async () => {
    renderRequest()
    await turn()
    res.end(renderRequest())
  }
  if (inWindow !== null && ++served % PROFILED_EVERY === 0) inWindow(handle)
  else handle()
})

server.listen(0, '127.0.0.1', () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
  const { port } = server.address()
  let counting = false
  let done = 0
  const profiling = arm === 'split' || arm === 'whole' ? windows() : null
  const get = () =>
    new Promise((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path: '/r', agent }, (res) => {
          res.resume()
          res.on('end', resolve)
        })
        .on('error', reject)
    })
  const client = async () => {
    while (!stop) {
      await get()
      if (counting) done++
    }
  }
  const clients = Array.from({ length: CLIENTS }, client)
  setTimeout(() => {
    counting = true
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const main0 = mainThreadCpuNs()
    setTimeout(() => {
      const rps = (done * 1000) / (performance.now() - t0)
      const cpu = process.cpuUsage(cpu0)
      const perCpuS = (done * 1e6) / (cpu.user + cpu.system)
      const perMainCpuS = (done * 1e9) / (mainThreadCpuNs() - main0)
      stop = true
      Promise.all([...clients, profiling]).then(() => {
        console.log(JSON.stringify({ rps, perCpuS, perMainCpuS }))
        agent.destroy()
        server.close()
      })
    }, WINDOW_MS)
  }, WARMUP_MS)
})
