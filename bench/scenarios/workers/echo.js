'use strict'
// Worker of scenarios/idle-cost.js: says 'up' from its first line of user code, then
// echoes every message it gets on parentPort, and on the MessagePort in workerData.port
// when there is one.

const { parentPort, workerData } = require('node:worker_threads')

parentPort.postMessage('up')
parentPort.on('message', (m) => parentPort.postMessage(m))
const port = workerData?.port
if (port) port.on('message', (m) => port.postMessage(m))
