'use strict'
// Busy worker of scenarios/stop-latency.js: says 'up', then computes in one synchronous
// loop forever. It never returns to its event loop, so it never reads a port: a stop or
// terminate has to reach it some other way.

const { parentPort } = require('node:worker_threads')

parentPort.postMessage('up')
let x = 1
for (;;) x = (x * 31 + 7) | 0
