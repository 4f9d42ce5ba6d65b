// Ganache (an Ethereum node simulator) on 127.0.0.1, for the JSON-RPC kit's tests: a real,
// independent JSON-RPC 2.0 server over WebSocket with eth_subscribe. Prints
// "listening on 127.0.0.1:PORT" first, like every test server; blocks are mined every 100 ms so
// "newHeads" subscriptions have something to deliver.
const net = require("net");
const ganache = require("ganache");

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

(async () => {
  const server = ganache.server({
    logging: { quiet: true },
    miner: { blockTime: 0.1 },
    wallet: { totalAccounts: 2, deterministic: true },
  });
  const port = await freePort();
  await server.listen(port, "127.0.0.1");
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})();
