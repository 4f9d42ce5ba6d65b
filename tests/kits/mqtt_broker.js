// An MQTT 3.1.1 broker over WebSocket for the kit's tests: aedes behind websocket-stream.
//
// Run: `node tests/kits/mqtt_broker.js` (NODE_PATH=tests/node/node_modules); it binds
// 127.0.0.1 on a free port and prints `listening on 127.0.0.1:PORT` first. WebSocket on any
// path (e.g. ws://127.0.0.1:PORT/mqtt); `GET /stats` on the same port answers with what the
// broker counted, as JSON:
//   published   {topic: {qos: n}}  PUBLISH packets clients sent (wills not included)
//   forwarded   {topic: {qos: n}}  PUBLISH packets the broker sent to subscribers
//   subscribed  {filter: n}        SUBSCRIBE requests per topic filter
//   wills       {topic: n}         last wills the broker published
//   connects, disconnects (clean, with DISCONNECT), clientErrors, keepaliveTimeouts, pings,
//   refused (bad credentials), clients (connected now)
// Anonymous clients are welcome; a client that gives a user name must give
// greenws / secret, or its CONNACK says 4 (bad user name or password). Subscriptions to
// forbidden/... are refused (SUBACK 0x80).

'use strict'

const http = require('http')
const aedes = require('aedes')()
const websocketStream = require('websocket-stream')

const stats = {
  published: {},
  forwarded: {},
  subscribed: {},
  wills: {},
  connects: 0,
  disconnects: 0,
  clientErrors: 0,
  keepaliveTimeouts: 0,
  pings: 0,
  refused: 0,
  clients: 0
}

function bump (table, topic, qos) {
  const byQos = table[topic] || (table[topic] = {})
  byQos[qos] = (byQos[qos] || 0) + 1
}

aedes.authenticate = (client, username, password, callback) => {
  if (username === undefined || username === null) return callback(null, true)
  if (username === 'greenws' && password && password.toString() === 'secret') {
    return callback(null, true)
  }
  stats.refused += 1
  const error = new Error('bad user name or password')
  error.returnCode = 4
  callback(error, null)
}

aedes.authorizePublish = (client, packet, callback) => {
  if (client && packet === client.will) { // aedes publishes a will through here too
    stats.wills[packet.topic] = (stats.wills[packet.topic] || 0) + 1
  } else {
    bump(stats.published, packet.topic, packet.qos)
  }
  callback(null)
}

aedes.authorizeSubscribe = (client, subscription, callback) => {
  // a negated subscription: SUBACK says 0x80 (failure) for it
  callback(null, subscription.topic.startsWith('forbidden/') ? null : subscription)
}

aedes.authorizeForward = (client, packet) => {
  if (!packet.topic.startsWith('$SYS')) bump(stats.forwarded, packet.topic, packet.qos)
  return packet
}

aedes.on('subscribe', (subscriptions) => {
  for (const sub of subscriptions) {
    stats.subscribed[sub.topic] = (stats.subscribed[sub.topic] || 0) + 1
  }
})
aedes.on('client', () => { stats.connects += 1; stats.clients += 1 })
aedes.on('clientDisconnect', (client) => {
  stats.clients -= 1
  if (client._disconnected) stats.disconnects += 1 // it sent DISCONNECT
})
aedes.on('clientError', () => { stats.clientErrors += 1 })
aedes.on('keepaliveTimeout', () => { stats.keepaliveTimeouts += 1 })
aedes.on('ping', () => { stats.pings += 1 })

const server = http.createServer((request, response) => {
  if (request.url === '/stats') {
    response.writeHead(200, { 'Content-Type': 'application/json' })
    response.end(JSON.stringify(stats))
    return
  }
  response.writeHead(404)
  response.end()
})
websocketStream.createServer({ server }, aedes.handle)

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`)
})

process.on('SIGTERM', () => {
  aedes.close(() => server.close(() => process.exit(0)))
  setTimeout(() => process.exit(0), 1000).unref()
})
