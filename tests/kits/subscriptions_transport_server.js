// A legacy subscriptions-transport-ws server (subprotocol `graphql-ws`): Apollo's
// SubscriptionServer with the schema of graphql_schema.js, on 127.0.0.1, a free port, path
// /graphql. Queries and mutations run over the socket too.
//
//   node tests/kits/subscriptions_transport_server.js [--keep-alive-ms N]
//
// Prints `listening on 127.0.0.1:PORT` first. With --keep-alive-ms the server sends `ka` every
// N ms. connection_init with {"token": "bad"} gets connection_error, then the close.
// GET /stats gives the counts.
'use strict';
const http = require('http');
const { execute, subscribe } = require('graphql');
const { SubscriptionServer } = require('subscriptions-transport-ws');
const { schema, admit, statsHandler } = require('./graphql_schema.js');

const flag = process.argv.indexOf('--keep-alive-ms');
const keepAlive = flag > 0 ? Number(process.argv[flag + 1]) : undefined;

const server = http.createServer(statsHandler);
SubscriptionServer.create(
  {
    schema,
    execute,
    subscribe,
    keepAlive,
    onConnect: (params) => {
      if (!admit(params)) throw new Error('bad token');
      return { server: 'subscriptions-transport-ws' };
    },
  },
  { server, path: '/graphql' },
);

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
