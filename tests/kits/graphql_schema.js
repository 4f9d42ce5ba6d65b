// The schema both Node GraphQL test servers serve (graphql-js + graphql-subscriptions'
// in-process PubSub), the same shape as graphql_strawberry_server.py's:
//
//   type Query { hello(name: String = "world"): String!  stats: String! }
//   type Mutation { publish(channel: String!, text: String!): Int! }
//   type Subscription { countdown(start: Int!, interval: Float = 0): Int!
//                       feed(channel: String!): Message!  failing(after: Int!): Int! }
//
// `failing` sends `after` values, then one result with an error, then completes (as
// strawberry does when its generator raises). `stats` is a JSON text of what was counted:
// inits, rejected, queries, mutations, subscriptions and events (per field), stopped
// (subscriptions the client ended), pings and pongs (server pings) and clientPings (the
// client's), counted by the graphql-ws server only.
'use strict';
const {
  GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLFloat, GraphQLNonNull,
} = require('graphql');
const { PubSub } = require('graphql-subscriptions');

const stats = {
  inits: 0, rejected: 0, queries: 0, mutations: 0,
  subscriptions: {}, events: {}, stopped: 0, pings: 0, pongs: 0, clientPings: 0,
};
const pubsub = new PubSub();
const listeners = {}; // channel -> open feed subscriptions (what publish returns)
let sequence = 0;

const bump = (table, key) => { table[key] = (table[key] || 0) + 1; };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An async iterator that counts its start, and a stop by the client (return() before the end).
// Not an async generator: a generator parked in `await source.next()` cannot be returned
// until the next value comes, and a quiet feed's stop would never be counted.
function counted(field, source, onStop) {
  bump(stats.subscriptions, field);
  let done = false;
  return {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      const step = await source.next();
      if (step.done) done = true;
      return step;
    },
    async return() {
      if (!done) { done = true; stats.stopped += 1; if (onStop) onStop(); }
      if (source.return) source.return();
      return { done: true, value: undefined };
    },
  };
}

async function* countdown(start, interval) {
  for (let value = start; value >= 0; value -= 1) {
    yield value;
    if (interval) await sleep(interval * 1000);
  }
}

// A feed's messages from the PubSub, listening from the moment the subscription is made (its
// own asyncIterator() listens only from the first next(), so a publish right after the
// subscribe could miss it while `publish` already counted the subscriber).
function listen(channel) {
  const queue = [];
  const waiting = [];
  let id = null;
  pubsub.subscribe(`feed:${channel}`, (message) => {
    if (waiting.length) waiting.shift()({ value: message, done: false });
    else queue.push(message);
  }).then((subscriptionId) => { id = subscriptionId; });
  return {
    next: () => (queue.length
      ? Promise.resolve({ value: queue.shift(), done: false })
      : new Promise((resolve) => waiting.push(resolve))),
    return: () => {
      if (id !== null) pubsub.unsubscribe(id);
      for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

async function* upTo(after) {
  for (let value = 0; value <= after; value += 1) yield value;
}

const nn = (type) => new GraphQLNonNull(type);
const Message = new GraphQLObjectType({
  name: 'Message',
  fields: { channel: { type: nn(GraphQLString) }, text: { type: nn(GraphQLString) }, seq: { type: nn(GraphQLInt) } },
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: nn(GraphQLString),
        args: { name: { type: GraphQLString, defaultValue: 'world' } },
        resolve: (_, { name }) => { stats.queries += 1; return `hello ${name}`; },
      },
      stats: { type: nn(GraphQLString), resolve: () => JSON.stringify(stats) },
    },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: {
      publish: {
        type: nn(GraphQLInt),
        args: { channel: { type: nn(GraphQLString) }, text: { type: nn(GraphQLString) } },
        resolve: (_, { channel, text }) => {
          stats.mutations += 1;
          sequence += 1;
          pubsub.publish(`feed:${channel}`, { channel, text, seq: sequence });
          return listeners[channel] || 0;
        },
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      countdown: {
        type: nn(GraphQLInt),
        args: { start: { type: nn(GraphQLInt) }, interval: { type: GraphQLFloat, defaultValue: 0 } },
        subscribe: (_, { start, interval }) => counted('countdown', countdown(start, interval)),
        resolve: (value) => { bump(stats.events, 'countdown'); return value; },
      },
      feed: {
        type: nn(Message),
        args: { channel: { type: nn(GraphQLString) } },
        subscribe: (_, { channel }) => {
          listeners[channel] = (listeners[channel] || 0) + 1;
          return counted('feed', listen(channel), () => { listeners[channel] -= 1; });
        },
        resolve: (message) => { bump(stats.events, 'feed'); return message; },
      },
      failing: {
        type: nn(GraphQLInt),
        args: { after: { type: nn(GraphQLInt) } },
        subscribe: (_, { after }) => counted('failing', upTo(after)),
        resolve: (value, { after }) => {
          if (value >= after) throw new Error(`failing after ${after}`);
          bump(stats.events, 'failing');
          return value;
        },
      },
    },
  }),
});

// connection_init's payload: {"token": "bad"} is refused; anything else is welcome.
function admit(params) {
  stats.inits += 1;
  if (params && params.token === 'bad') { stats.rejected += 1; return false; }
  return true;
}

// GET /stats answers the counts over plain HTTP (the same JSON as the `stats` query).
function statsHandler(request, response) {
  if (request.url === '/stats') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(stats));
    return;
  }
  response.writeHead(404);
  response.end();
}

module.exports = { schema, stats, admit, statsHandler };
