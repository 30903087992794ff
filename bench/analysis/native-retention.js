'use strict'
// Whether native CpuProfiles give their memory back: parse the same small real profile N
// times, dropping each result, and print RSS growth after gc() (repeated for 3.5 s). The
// `json` mode (JSON.parse only) is the floor. Every profiled worker's chunk is parsed
// like this on the main thread.
//
//   node --expose-gc bench/analysis/native-retention.js [sync|async|assemble|json] [N]

const native = require('../../lib/util/native')
const { recordProfile } = require('../../__test__/helpers')

const mode = process.argv[2] ?? 'sync'
const N = Number(process.argv[3] ?? 6000)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
async function settle() {
  const end = Date.now() + 3500
  while (Date.now() < end) {
    global.gc()
    await new Promise((resolve) => setImmediate(resolve))
    await sleep(250)
  }
  global.gc()
}

;(async () => {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc')
  const profile = await recordProfile({ ms: 60, intervalUs: 1000 })
  const json = JSON.stringify(profile)
  const once = {
    json: async () => void JSON.parse(json),
    sync: async () => void native.CpuProfile.parse(json),
    async: async () => void (await native.CpuProfile.parseAsync(json)),
    assemble: async () => {
      const p = await native.CpuProfile.parseAsync(json)
      await native.CpuProfile.assembleParsedAsync([p], profile.startTime, profile.endTime)
    },
  }[mode]
  for (let i = 0; i < 20; i++) await once()
  await settle()
  const before = process.memoryUsage().rss
  for (let i = 0; i < N; i++) await once()
  await settle()
  const mb = (process.memoryUsage().rss - before) / 1e6
  console.log(`${mode}: ${N} × a ${json.length}-byte profile, RSS +${mb.toFixed(1)} MB after GC`)
})()
