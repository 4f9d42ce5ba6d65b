"""The greenws side of benchmarks/kits/graphql.py: each iteration one session, one subscription
to ``countdown(start: COUNT)`` read to its end, then closed. setup/teardown measure this
process's CPU (time.process_time) and wall time from before the first VU to after the last."""

import json
import os
import time

from greenws.kits import graphql

URL = os.environ["GRAPHQL_URL"]
QUERY = f"subscription {{ countdown(start: {int(os.environ['COUNT'])}) }}"


def setup():
    return {"cpu": time.process_time(), "wall": time.perf_counter()}


def default():
    with graphql.connect(URL) as gql:
        for _ in gql.subscribe(QUERY):
            pass


def teardown(data):
    cpu = time.process_time() - data["cpu"]
    wall = time.perf_counter() - data["wall"]
    with open(os.environ["BENCH_OUT"], "w") as handle:
        json.dump({"cpu": cpu, "wall": wall}, handle)
