// The peer client for benchmarks/kits/graphql.py: the graphql-ws library's own client
// (createClient on `ws`), running SESSIONS sessions, CONCURRENCY at a time, each one
// subscription to `countdown(start: COUNT)` read to its end, then closed.
//
//   node graphql_peer.js URL SESSIONS CONCURRENCY COUNT
//
// Prints one JSON line: sessions and messages completed, the process's CPU seconds (user +
// system, process.cpuUsage) and wall seconds, both from the first connect to the last close.
'use strict';
const WebSocket = require('ws');
const { createClient } = require('graphql-ws');

const [url, sessions, concurrency, count] = process.argv.slice(2);
const query = `subscription { countdown(start: ${Number(count)}) }`;
let messages = 0;
let done = 0;

function session() {
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  return new Promise((resolve, reject) => {
    client.subscribe({ query }, {
      next: () => { messages += 1; },
      error: reject,
      complete: resolve,
    });
  }).then(() => client.dispose()).then(() => { done += 1; });
}

async function worker(left) {
  while (left.n > 0) {
    left.n -= 1;
    await session();
  }
}

(async () => {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  const left = { n: Number(sessions) };
  await Promise.all(Array.from({ length: Number(concurrency) }, () => worker(left)));
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({
    sessions: done,
    messages,
    cpu: (used.user + used.system) / 1e6,
    wall: Number(process.hrtime.bigint() - wall) / 1e9,
  }));
  process.exit(0);
})().catch((error) => { console.error(error); process.exit(1); });
