// A Socket.IO v4 server: Node's socket.io, the reference implementation.
//
// Run: `node tests/kits/socketio_server.js [--ping-interval S] [--ping-timeout S]` (NODE_PATH
// pointing at tests/node/node_modules); it binds 127.0.0.1 on a free port and prints
// `listening on 127.0.0.1:PORT` first. The same events as socketio_server.py (see its
// docstring): auth refusal, welcome, join, chat to a room, add, echo, binary, ask (a
// server-initiated ack request), kick, drop (the transport closes), transport (the name of
// the Engine.IO transport the session is on now), stats (with `starts`: the transport each
// connect came on), and the /admin namespace with whoami.

"use strict";

const http = require("http");
const { Server } = require("socket.io");

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const events = {};
const counts = {};
const reasons = {};
const starts = {};
const bump = (table, key) => { table[key] = (table[key] || 0) + 1; };

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: option("--ping-interval", 0.3) * 1000,
  pingTimeout: option("--ping-timeout", 0.2) * 1000,
  maxHttpBufferSize: 1e7,
});

io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token !== undefined && auth.token !== "secret") {
    bump(counts, "refused");
    return next(new Error("bad token"));
  }
  next();
});

io.on("connection", (socket) => {
  bump(counts, "connects");
  bump(starts, socket.conn.transport.name);
  socket.emit("welcome", { sid: socket.id });
  socket.on("disconnect", (reason) => bump(reasons, reason));
  socket.onAny((event) => { if (event !== "stats") bump(events, event); });
  socket.on("join", (room, ack) => { socket.join(room); ack("joined"); });
  socket.on("chat", (room, text, ack) => {
    socket.to(room).emit("chat", room, text);
    ack(true);
  });
  socket.on("add", (a, b, ack) => ack(a + b));
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("binary", (...args) => socket.emit("binary", ...args));
  socket.on("ask", (question) => {
    socket.timeout(10000).emit("question", question, (error, answer) => {
      if (error) return;
      bump(counts, "answers");
      socket.emit("answer", answer);
    });
  });
  socket.on("kick", () => { bump(counts, "kicks"); socket.disconnect(true); });
  socket.on("drop", () => { bump(counts, "drops"); socket.conn.close(); });
  socket.on("transport", (ack) => ack(socket.conn.transport.name));
  socket.on("stats", (ack) => ack({ events, ...counts, reasons, starts }));
});

io.of("/admin").use((socket, next) => {
  if ((socket.handshake.auth || {}).token !== "admin") {
    bump(counts, "refused");
    return next(new Error("admins only"));
  }
  next();
});
io.of("/admin").on("connection", (socket) => {
  bump(counts, "admin_connects");
  socket.on("whoami", (ack) => { bump(events, "whoami"); ack("admin"); });
});

httpServer.listen(0, "127.0.0.1", () => {
  const { address, port } = httpServer.address();
  process.stdout.write(`listening on ${address}:${port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
