// Runs the real Chroma server (the Rust binary shipped inside the npm
// bindings) in the foreground; scripts/services.sh backgrounds it.
// Usage: node run-chroma.js DATA_DIR PORT
'use strict';
const path = require('path');

const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
  console.error('usage: node run-chroma.js DATA_DIR PORT');
  process.exit(2);
}
const binding = require(path.join(__dirname, 'node_modules',
  'chromadb-js-bindings-linux-x64-gnu',
  'chromadb-js-bindings.linux-x64-gnu.node'));
// Loopback only: the test servers must never be reachable from outside.
binding.cli(['chroma', 'run', '--path', dir, '--host', '127.0.0.1', '--port',
  String(port)]);
