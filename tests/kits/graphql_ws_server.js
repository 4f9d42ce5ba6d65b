// A graphql-transport-ws server: the graphql-ws library (`graphql-ws/lib/use/ws` on `ws`) with
// the schema of graphql_schema.js, on 127.0.0.1, a free port, path /graphql.
//
//   node tests/kits/graphql_ws_server.js [--ping-ms N]
//
// Prints `listening on 127.0.0.1:PORT` first. With --ping-ms, every N ms the server sends each
// acknowledged client a protocol `ping` (and the library's WebSocket-level ping, keepAlive = N)
// and closes with 4000 "pong timeout" a client that did not pong the previous one: a client
// must answer while its user code sleeps. GET /stats gives the counts (pings, pongs and the
// client's own pings, clientPings, too).
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/lib/use/ws');
const { schema, stats, admit, statsHandler } = require('./graphql_schema.js');

const flag = process.argv.indexOf('--ping-ms');
const pingMs = flag > 0 ? Number(process.argv[flag + 1]) : 0;

const server = http.createServer(statsHandler);
const wss = new WebSocketServer({ server, path: '/graphql' });

// Counts the client's pongs (to our pings) and its own pings (the library answers those).
function countHeartbeats(socket, onPong) {
  socket.on('message', (data) => {
    try {
      const type = JSON.parse(String(data)).type;
      if (type === 'pong') { stats.pongs += 1; onPong(); }
      if (type === 'ping') stats.clientPings += 1;
    } catch (error) { /* the library answers bad messages */ }
  });
}

function pingForever(socket) {
  let waiting = false;
  countHeartbeats(socket, () => { waiting = false; });
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    if (waiting) { socket.close(4000, 'pong timeout'); return; }
    waiting = true;
    stats.pings += 1;
    socket.send(JSON.stringify({ type: 'ping' }));
  }, pingMs);
  socket.once('close', () => clearInterval(timer));
}

useServer(
  {
    schema,
    onConnect: (ctx) => {
      if (!admit(ctx.connectionParams)) return false;
      if (pingMs > 0) pingForever(ctx.extra.socket);
      else countHeartbeats(ctx.extra.socket, () => {});
      return { server: 'graphql-ws' };
    },
  },
  wss,
  pingMs > 0 ? pingMs : 12000,
);

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
