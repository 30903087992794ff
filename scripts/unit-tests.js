'use strict'
// Runs every __test__/*.unit.test.js in this one process (node --test starts a process per
// file, ~0.4 s each here). Stryker runs this once per mutant; npm test still runs each
// file in its own process. Exit status 1 when a test fails.
const fs = require('node:fs')
const path = require('node:path')

const dir = path.join(__dirname, '..', '__test__')
for (const name of fs.readdirSync(dir).sort()) {
  if (name.endsWith('.unit.test.js')) require(path.join(dir, name))
}
