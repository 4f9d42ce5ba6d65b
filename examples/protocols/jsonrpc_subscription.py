"""An Ethereum-style JSON-RPC load test: each VU reads chain state and follows new blocks.

Against a local node simulator (Ganache, installed by the README's test set-up line)::

    tests/node/node_modules/.bin/ganache --port 8545 --miner.blockTime 1 --logging.quiet &
    greenws run examples/protocols/jsonrpc_subscription.py

``TARGET`` overrides the url. No protocol code below: ids, correlation, subscription routing
and timing are the kit's. ``jsonrpc_duration`` is per method; the threshold gates the p95.
"""

import os

from greenws import check
from greenws.kits import jsonrpc

TARGET = os.environ.get("TARGET", "ws://127.0.0.1:8545")

options = {
    "vus": 10,
    "duration": "30s",
    "thresholds": {
        "jsonrpc_duration{method:eth_getBalance}": ["p(95)<200"],
        "jsonrpc_failed": ["rate<0.01"],
        "checks": ["rate>0.99"],
    },
}


def default():
    with jsonrpc.connect(TARGET) as rpc:
        accounts = rpc.call("eth_accounts")
        balance = int(rpc.call("eth_getBalance", [accounts[0], "latest"]), 16)
        check(balance, {"funded account": lambda wei: wei > 0})
        heads = rpc.subscribe("eth_subscribe", ["newHeads"])
        numbers = [int(heads.recv(timeout=10)["number"], 16) for _ in range(2)]
        check(numbers, {"blocks in order": lambda n: n[1] > n[0]})
        heads.unsubscribe()
