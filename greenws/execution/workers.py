"""``greenws run --workers N``: every core of one box, one test.

One coordinator process and N worker processes. The coordinator loads the script, runs ``setup()``
and ``teardown()`` once, owns the outputs, the live progress, the thresholds and the summary. Each
worker runs the same script with ``--execution-segment`` set to its slice of an even segment
sequence, so together the workers run exactly the load one process would.

Why workers ship aggregator *state* and not samples: a worker doing 150,000 samples/s would make
the coordinator deserialise and aggregate N times that, and the coordinator would become the one
core that limits the box. Instead every worker aggregates its own samples and sends its
aggregator's mergeable state once a second (a few KB, whatever the load); the coordinator merges
those for progress, thresholds and the summary (Trend histograms merge exactly). Raw samples
cross the process boundary only when an output needs them (``--out json=…``, InfluxDB, CSV …),
so every output still receives every sample exactly once, in one file.

The channel is a pipe per worker (not stdout: a script's ``print`` must not corrupt it), carrying
frames of ``kind (1 byte) + length (4 bytes) + payload``:

- ``S`` a JSON status: progress, aggregator state, dropped samples, abort reason;
- ``B`` a pickled sample batch (only with sample outputs), tags and metric types sent once;
- ``E`` the final status and the worker's exit code.

Two greenlets write to the pipe (the status loop and the output channel forwarding batches), and a
non-blocking write of a large frame yields part-way when the pipe is full. Without a lock a status
frame could land inside a batch frame and the reader would lose its place in the stream (it did:
``UnpicklingError``, absurd lengths, a run stopped early). So every frame is written whole under one
lock, and the reader checks each header: a frame it cannot account for ends the worker as lost,
loudly, instead of being guessed at.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
import gevent.lock
import gevent.os

from greenws.execution.executors import progress_line
from greenws.exit_codes import EXIT
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.metric import MetricType, ValueType
from greenws.metrics.state import aggregator_from_state, export_aggregator, merge_into_aggregator
from greenws.metrics.tags import TagSet
from greenws.options.scenarios import ScenarioConfig
from greenws.options.segments import even_sequence
from greenws.plugins import hookimpl
from greenws.plugins.types import Progress
from greenws.runtime.logs import get_logger

if TYPE_CHECKING:
    from greenws.execution.engine import Engine

__all__ = ["Coordinator", "WorkerLink", "child_arguments", "resolve_worker_count"]

_HEADER = struct.Struct("!cI")
_KINDS = (b"S", b"B", b"E")
#: No honest frame is larger (a batch of a million samples pickles to about 30 MB).
_MAX_FRAME = 1 << 30
#: How often a worker reports its status (progress, aggregator state) to the coordinator.
STATUS_INTERVAL = 1.0


def resolve_worker_count(value: str) -> int:
    """``auto`` → the cores this process may use; else a positive integer (a clear error if not)."""
    if value == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"--workers: expected a number or 'auto', got {value!r}") from None
    if count < 1:
        raise ValueError(f"--workers: must be at least 1, got {count}")
    return count


# -- the worker's side ------------------------------------------------------------------------


class WorkerLink:
    """A worker's end of the channel: status frames, and sample batches when outputs want them.

    Registered as an output plugin (only when the coordinator asked for samples), so batches
    reach it through the same bounded, drop-counting queue as any output.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        gevent.os.make_nonblocking(fd)
        #: id(TagSet) -> (its number on the wire, the TagSet, kept alive so ids stay unique)
        self._tag_ids: dict[int, tuple[int, TagSet]] = {}
        self._metrics_sent: set[str] = set()
        #: One frame at a time: a write that yields part-way must not let another frame in.
        self._writing = gevent.lock.Semaphore()
        self.broken = False
        #: A report builder fed by this worker's aggregator, when the coordinator's dashboard or
        #: HTML report takes its data instead of every sample (``export_worker_report``).
        self.report_feed: Any = None

    def _write(self, kind: bytes, payload: bytes) -> None:
        data = memoryview(_HEADER.pack(kind, len(payload)) + payload)
        with self._writing:
            if self.broken:
                return
            try:
                while data:
                    written = gevent.os.nb_write(self._fd, data)
                    data = data[written:]
            except OSError:  # the coordinator is gone: nobody will read what this worker measures
                self.broken = True
                os.kill(os.getpid(), signal.SIGINT)
            except BaseException:
                # Killed half-way (an output channel closed at a drain timeout): what follows
                # would be read as part of this frame, so nothing more is sent at all. The
                # coordinator then reports this worker as lost, which is the truth.
                self.broken = bool(data)
                raise

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> None:
        """Forward a batch: metric names and tag sets as small integers after their first use."""
        if not samples:
            return
        new_tags: list[tuple[int, dict[str, str]]] = []
        new_metrics: list[tuple[str, str, str]] = []
        rows = []
        tag_ids = self._tag_ids
        for metric, timestamp, value, tags in samples:
            known = tag_ids.get(id(tags))
            if known is None:
                index = len(tag_ids)
                tag_ids[id(tags)] = (index, tags)
                new_tags.append((index, dict(tags)))
            else:
                index = known[0]
            name = metric.name
            if name not in self._metrics_sent:
                self._metrics_sent.add(name)
                new_metrics.append((name, metric.type.value, metric.contains.value))
            rows.append((name, timestamp, value, index))
        payload = (new_metrics, new_tags, rows)
        self._write(b"B", pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))

    def status(self, engine: Engine, *, final: bool = False, exit_code: int = 0) -> None:
        """Send progress and the aggregator's mergeable state."""
        if not final:
            engine.flusher.flush()
        progress = engine.progress()
        document = {
            "progress": {
                "vus": progress.vus,
                "max_vus": progress.max_vus,
                "complete": progress.complete,
                "interrupted": progress.interrupted,
                "open_connections": progress.open_connections,
                # counts, not text: the coordinator writes the whole test's progress line
                "scenarios": [
                    [r.config.name, r.active, r.done, r.elapsed()] for r in engine.runners
                ],
            },
            "state": export_aggregator(engine.aggregator),
            "dropped": engine.flusher.dropped(),
            "abort": engine.abort_reason,
            "exit_code": exit_code,
        }
        if self.report_feed is not None:
            document["report"] = self.report_feed.export_worker_report()
        self._write(b"E" if final else b"S", json.dumps(document).encode())

    def report_loop(self, engine: Engine) -> None:
        """The worker's status greenlet (in place of the ``vus`` gauges and threshold checks)."""
        while True:
            gevent.sleep(STATUS_INTERVAL)
            # In a greenlet of its own: the engine kills this loop at the end of the test, and a
            # status killed half-way through its write (a large one yields when the pipe is
            # full) would leave the final one nothing to do but report this worker lost.
            gevent.spawn(self.status, engine).join()


def child_arguments(args: Any, segment: str, sequence: Sequence[str], link: str) -> list[str]:
    """The ``greenws run`` command line of one worker, from the coordinator's parsed arguments.

    Built from the parsed namespace rather than by editing ``sys.argv``: whatever only the
    coordinator does (outputs, echo server, summary, setup/teardown, thresholds' verdicts) is
    simply not passed on.
    """
    argv = [sys.executable, "-m", "greenws", "run", args.script, "-q", "--no-summary"]
    argv += ["--no-setup", "--no-teardown", "--execution-segment", segment]
    argv += ["--execution-segment-sequence", ",".join(sequence), "--worker-link", link]
    for key, value in args.env:
        argv += ["-e", f"{key}={value}"]
    for key, value in args.tag:
        argv += ["--tag", f"{key}={value}"]
    for module in args.plugins:
        argv += ["-p", module]
    for flag, value in (
        ("--config", args.config),
        ("--vus", args.vus),
        ("--duration", args.duration),
        ("--iterations", args.iterations),
        ("--local-ips", getattr(args, "local_ips", None)),
    ):
        if value is not None:
            argv += [flag, str(value)]
    for stage in args.stage or ():
        argv += ["--stage", stage]
    if args.insecure_skip_tls_verify:
        argv.append("--insecure-skip-tls-verify")
    if args.summary_mode == "full":  # the workers aggregate full mode's blocks for the summary
        argv += ["--summary-mode", "full"]
    # Logs: a worker's console lines and errors are the test's, in the same place and format.
    for flag, value in (("--log-output", args.log_output), ("--log-format", args.log_format)):
        if value is not None:
            argv += [flag, value]
    argv += ["-v"] * bool(args.verbose) + ["--no-color"] * bool(args.no_color)
    return argv


# -- the coordinator's side ------------------------------------------------------------------


class _Worker:
    """One worker process as the coordinator sees it: its pipe, its last status, its end."""

    def __init__(
        self,
        index: int,
        argv: list[str],
        engine: Engine,
        deliver_report: Callable[[int, Any], None],
    ) -> None:
        self.index = index
        self.engine = engine
        self.deliver_report = deliver_report  # the coordinator's, for this worker's report data
        read_fd, write_fd = os.pipe()
        argv = [*argv]
        argv[argv.index("--worker-link") + 1] = argv[argv.index("--worker-link") + 1].replace(
            "{fd}", str(write_fd)
        )
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])  # this greenws, installed or not
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # Its own session: a terminal's Ctrl+C reaches the coordinator only, which then stops
        # the workers once (a second SIGINT would make a worker exit without its final status).
        self.process = subprocess.Popen(argv, pass_fds=(write_fd,), env=env, start_new_session=True)
        os.close(write_fd)
        self._fd = read_fd
        gevent.os.make_nonblocking(read_fd)
        self.status: dict[str, Any] | None = None
        self.final: dict[str, Any] | None = None
        self.exit_code: int | None = None
        self.channel_error: str | None = None
        self._metrics: dict[str, Any] = {}
        self._tags: dict[int, TagSet] = {}
        self.reader = gevent.spawn(self._read_all)

    def _read_exactly(self, size: int) -> bytes | None:
        chunks = []
        while size:
            chunk = gevent.os.nb_read(self._fd, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _read_all(self) -> None:
        try:
            while True:
                header = self._read_exactly(_HEADER.size)
                if header is None:
                    break
                kind, length = _HEADER.unpack(header)
                if kind not in _KINDS or length > _MAX_FRAME:
                    raise ValueError(f"a frame header that makes no sense: {header!r}")
                payload = self._read_exactly(length)
                if payload is None:
                    break
                if kind == b"B":
                    self._forward(payload)
                else:
                    status = json.loads(payload)
                    report = status.pop("report", None)
                    if report is not None:
                        self.deliver_report(self.index, report)
                    self.status = status
                    if status.get("abort") and self.engine.abort_reason is None:
                        self.engine.abort(status["abort"])
                    if kind == b"E":
                        self.final = status
        except Exception as error:  # never guess at a stream that lost its place: drop the worker
            self.channel_error = f"{type(error).__name__}: {error}"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        finally:
            os.close(self._fd)
            self.exit_code = self.process.wait()

    def lost_because(self) -> str | None:
        """Why this worker's part of the test is missing from the summary (None if it is not)."""
        if self.final is not None and self.channel_error is None:
            return None
        if self.channel_error is not None:
            return f"its channel to the coordinator failed ({self.channel_error})"
        code = self.exit_code
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"it was killed by {name}"
        return f"it exited with code {code} before its final report"

    def _forward(self, payload: bytes) -> None:
        """Hand a worker's batch to the coordinator's outputs (its aggregation came as state)."""
        new_metrics, new_tags, rows = pickle.loads(payload)  # our own child wrote it
        registry = self.engine.context.registry
        for name, type_name, contains in new_metrics:
            self._metrics[name] = registry.get_or_create(
                name, MetricType(type_name), ValueType(contains)
            )
        for index, tags in new_tags:
            self._tags[index] = self.engine.context.intern_tags(tags)
        metrics, tag_sets = self._metrics, self._tags
        batch = [(metrics[name], when, value, tag_sets[tag]) for name, when, value, tag in rows]
        self.engine.flusher.offer_outputs(batch)

    def stop(self) -> None:
        """Ask the worker to stop gracefully (its SIGINT handling: graceful stop, then exit)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)


class Coordinator:
    """Starts the workers, merges what they report, and answers the engine's questions."""

    def __init__(self, count: int, args: Any) -> None:
        self.count = count
        self.args = args
        self.workers: list[_Worker] = []
        self._setup_file: str | None = None
        #: Who takes the workers' report data (``Engine.observe_worker_reports``).
        self.report_receivers: list[Callable[[int, Any], None]] = []
        self.report_tags: list[str] = []  # the tags their tables are broken down by

    def deliver_report(self, worker: int, report: Any) -> None:
        """Hand a worker's report data to every receiver; one that fails gets no more."""
        for receiver in tuple(self.report_receivers):
            try:
                receiver(worker, report)
            except Exception as error:  # a live view must never cost the test its coordinator
                self.report_receivers.remove(receiver)
                get_logger().warn(f"{receiver!r} failed and sees no more reports: {error!r}")

    def run(self, engine: Engine, setup_data: str | None) -> int:
        """Run every worker to its end; returns the worst worker exit code (0 if all were fine)."""
        link: dict[str, Any] = {
            "fd": "{fd}",
            # Raw samples only for outputs that cannot take the workers' report data instead.
            "forward": any(
                channel.name not in engine.flusher.report_fed for channel in engine.flusher.channels
            ),
            "report": bool(self.report_receivers),
            "report_start": engine.run_info.start_time,
            "report_tags": self.report_tags,
            "log_started": get_logger().started_at,
        }
        if setup_data is not None:
            handle, self._setup_file = tempfile.mkstemp(prefix="greenws-setup-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(setup_data)
            link["setup_data"] = self._setup_file
        sequence = even_sequence(self.count)
        try:
            for index in range(self.count):
                segment = f"{sequence[index]}:{sequence[index + 1]}"
                argv = child_arguments(self.args, segment, sequence, json.dumps(link))
                self.workers.append(_Worker(index, argv, engine, self.deliver_report))
            engine.scenarios_started.set()
            gevent.joinall([worker.reader for worker in self.workers])
        finally:
            if self._setup_file is not None:
                os.unlink(self._setup_file)
        worst = 0
        lost = False
        for worker in self.workers:
            code = worker.exit_code or 0
            reason = worker.lost_because()
            if reason is not None:
                lost = True
                engine.context.report_error(
                    f"worker-{worker.index}",
                    f"worker {worker.index} was lost: {reason}; its part of the test is missing"
                    " from the summary",
                )
            elif code not in (0, 99, 105) and not worst:
                worst = code
        # A lost worker is neither a script error nor a Ctrl+C: the results are incomplete.
        return EXIT["worker_lost"] if lost else worst

    def stop(self) -> None:
        """Stop every worker gracefully."""
        for worker in self.workers:
            worker.stop()

    def progress(self, elapsed: float, configs: Sequence[ScenarioConfig]) -> Progress:
        """The workers' progress added up, each scenario's line written for the whole test."""
        statuses = [w.status["progress"] for w in self.workers if w.status is not None]
        counts: dict[str, list[Any]] = {}  # name -> [active, done, elapsed or None]
        for status in statuses:
            for name, active, done, started_for in status["scenarios"]:
                entry = counts.setdefault(name, [0, 0, None])
                entry[0] += active
                entry[1] += done
                if started_for is not None:
                    entry[2] = max(entry[2] or 0.0, started_for)
        lines = []
        for config in configs:
            active, done, started_for = counts.get(config.name, (0, 0, None))
            fraction, right = progress_line(config, active, done, started_for)
            lines.append((config.name, config.describe(), fraction, right))
        return Progress(
            elapsed=elapsed,
            vus=sum(s["vus"] for s in statuses),
            max_vus=sum(s["max_vus"] for s in statuses),
            complete=sum(s["complete"] for s in statuses),
            interrupted=sum(s["interrupted"] for s in statuses),
            scenarios=lines,
            open_connections=sum(s.get("open_connections", 0) for s in statuses),
        )

    def merged(self, own: Aggregator) -> Aggregator:
        """The coordinator's own aggregator (setup, teardown, ``vus``) merged with every worker's
        latest state: what thresholds and the summary are computed from.
        """
        merged = aggregator_from_state(export_aggregator(own))
        for worker in self.workers:
            status = worker.final or worker.status
            if status is not None:
                merge_into_aggregator(merged, status["state"])
        return merged

    def dropped(self) -> dict[str, int]:
        """Samples the workers dropped on their way to the coordinator's outputs."""
        total: dict[str, int] = {}
        for worker in self.workers:
            status = worker.final or worker.status
            for name, count in ((status or {}).get("dropped") or {}).items():
                total[f"{name} (worker {worker.index})"] = count
        return total
