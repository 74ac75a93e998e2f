"""A lecture hall on Locust: students draw over Streamlit's websocket while the lecturer trains.

The students are the ones `bench/load.py` simulates, as a Locust user class, so Locust
spawns them, paces them, keeps the statistics and can spread them over several
load-generating machines (`--master` / `--worker`). Each student is one Streamlit session
over its own websocket, speaking the protocol of `streamlit_client.Conversation`, and
sends what the canvas sends at a stroke's mouse-up; the time from sending a drawing to the
end of the run that reads it is the request's response time. The lecturer stays a real
Chromium: `bench/load.py --sessions 0` trains the CNN from the Train page, started once
by the master (or the single local process) when the test starts.

    locust -f bench/locustfile.py --headless --host http://127.0.0.1:8501 \\
        --users 20 --spawn-rate 2 --run-time 60s [--lecturer-epochs 2] [--watch-pids PID,...]

Prints, beside Locust's own table: errors, drawing sent → prediction received (median,
p95, max; overall and while the lecturer's training ran), digits read right, and with
`--watch-pids` (servers on this machine) their CPU per drawing once every student is seated,
and the peak memory of each server and its children (the training process).
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from locust import User, constant_pacing, events, task
from locust.runners import MasterRunner, WorkerRunner
from websocket import create_connection  # websocket-client: blocking sockets, which gevent makes cooperative

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from load import MemoryWatch, canvas_state, summary  # noqa: E402
from streamlit_client import Conversation, Run  # noqa: E402

DRAWINGS = {digit: canvas_state(digit) for digit in range(10)}
readings: list[tuple[float, float, int, str | None]] = []  # sent at, ms, drawn, read
arrivals = itertools.count()  # each student starts at another digit, as in bench/load.py
seated = itertools.count(1)  # students whose page has loaded
lecture: dict = {}  # the lecturer's process, its output, and when training ran


@events.init_command_line_parser.add_listener
def _arguments(parser):
    parser.add_argument(
        "--drawing-every", type=float, default=2.0, help="seconds between a student's drawings"
    )
    parser.add_argument(
        "--lecturer-epochs", type=int, default=2, help="CNN epochs the lecturer trains (0: none)"
    )
    parser.add_argument(
        "--watch-pids", default="", help="local servers' pids, comma-separated: report their CPU and memory"
    )


class Student(User):
    """One student at their own laptop: opens the Draw page, then draws a digit every few seconds."""

    def wait_time(self):
        return constant_pacing(self.environment.parsed_options.drawing_every)(self)

    def on_start(self):
        self.turn = itertools.count(next(arrivals))
        self.socket = create_connection(
            self.host.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            origin=self.host,
            timeout=120,
        )
        self.page = Conversation(page="draw")
        self.exchange("page load", self.page.rerun_request())
        self.canvas = self.page.element("bidi_component")
        if next(seated) == self.environment.runner.target_user_count:
            steady_state_begins(self.environment)

    def on_stop(self):
        self.socket.close()

    def exchange(self, name: str, request: bytes) -> Run | None:
        """Send one rerun request, read frames until its run finishes; report it to Locust."""
        started = time.perf_counter()
        run, error = None, None
        try:
            self.socket.send_binary(request)
            while run is None:
                run = self.page.receive(self.socket.recv())
            if run.exceptions():
                error = RuntimeError(f"exception on the page: {run.exceptions()[0][:160]}")
        except Exception as e:  # a failed exchange is an error in the statistics
            error = e
        elapsed = 1000 * (time.perf_counter() - started)
        events.request.fire(
            request_type="WS",
            name=name,
            response_time=elapsed,
            response_length=0,
            exception=error,
            context={},
        )
        if error is not None and run is None:
            raise error  # Locust stops this user's task; the session is broken
        return run

    @task
    def draw(self):
        digit = next(self.turn) % 10
        sent = time.time()
        started = time.perf_counter()
        run = self.exchange(
            "drawing → prediction",
            self.page.rerun_request(self.page.set_json_value(self.canvas, DRAWINGS[digit])),
        )
        read = run.metric("Prediction")
        readings.append((sent, 1000 * (time.perf_counter() - started), digit, read))
        if read is None:
            events.request.fire(
                request_type="WS",
                name="prediction shown",
                response_time=0,
                response_length=0,
                exception=LookupError(f"no prediction for a drawn {digit}"),
                context={},
            )


def cpu_seconds(pids: list[int]) -> list[float]:
    """User + system CPU time of each process (not its children, e.g. the trainer)."""
    seconds = []
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))  # utime, stime
    return seconds


def watched(environment) -> list[int]:
    return [int(pid) for pid in environment.parsed_options.watch_pids.split(",") if pid]


def servers_cpu(environment) -> list[float]:
    """The watched servers' CPU seconds, where they run: in a single process, or the master."""
    return [] if isinstance(environment.runner, WorkerRunner) else cpu_seconds(watched(environment))


def steady_state_begins(environment) -> None:
    """Every student's page has loaded: from here on only drawings load the servers."""
    lecture["steady"] = [(time.time(), servers_cpu(environment))]


@events.test_start.add_listener
def _lecturer_starts(environment, **_):
    options = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) or not options:
        return
    lecture["watches"] = [MemoryWatch(pid) for pid in watched(environment)]
    for watch in lecture["watches"]:
        watch.start()
    if not options.lecturer_epochs:
        return
    lecture["process"] = subprocess.Popen(
        [sys.executable, str(BENCH / "load.py"), "--url", environment.host, "--sessions", "0"]
        + ["--head-start", "0", "--epochs", str(options.lecturer_epochs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@events.test_stop.add_listener
def _lecturer_stops(environment, **_):
    if "steady" in lecture:
        lecture["steady"].append((time.time(), servers_cpu(environment)))
    process = lecture.get("process")
    if process is not None:
        try:
            lecture["output"], _ = process.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            process.kill()
            lecture["output"] = process.communicate()[0] + "\n(lecturer stopped after 900 s)"
        ended = time.time()
        if took := re.search(r"in a browser, (\d+) s to the result", lecture["output"]):
            lecture["training"] = (ended - int(took[1]), ended)


@events.quitting.add_listener
def _report(environment, **_):
    # Run distributed, each worker reports its own students and the master the rest.
    if not isinstance(environment.runner, MasterRunner):
        students(environment)
    if not isinstance(environment.runner, WorkerRunner):
        lecturer_and_servers(environment)


def students(environment) -> None:
    print(summary("drawing sent → prediction received", [ms for _, ms, _, _ in readings]))
    if "training" in lecture:
        begin, end = lecture["training"]
        print(summary("  while training ran", [ms for t, ms, _, _ in readings if begin <= t <= end]))
    if len(lecture.get("steady", [])) == 2:
        (begin, cpu_begin), (end, cpu_end) = lecture["steady"]
        steady = [ms for t, ms, _, _ in readings if begin <= t <= end]
        print(summary(f"  once every student was seated ({end - begin:.0f} s)", steady))
        if each := [after - before for before, after in zip(cpu_begin, cpu_end, strict=True)]:
            print(
                f"servers' CPU then: {sum(each):.1f} s ({' + '.join(f'{s:.1f}' for s in each)}; "
                f"{sum(each) / (end - begin):.0%} of one core), "
                f"{1000 * sum(each) / max(1, len(steady)):.1f} ms per drawing"
            )
    print(f"drawn digits read right: {sum(read == str(d) for _, _, d, read in readings)}/{len(readings)}")


def lecturer_and_servers(environment) -> None:
    errors = environment.stats.total.num_failures
    print(f"errors: {errors} (failed exchanges, pages with an exception, drawings with no prediction)")
    for line in lecture.get("output", "").splitlines():
        if line.lstrip().startswith(("lecturer:", "errors:")):
            print(f"lecturer's run: {line}")
    for watch in lecture.get("watches", []):
        watch.running = False
        peaks = dict(watch.peaks)
        server = peaks.pop(watch.pid, 0)
        print(
            f"memory of server {watch.pid}: RSS peak {server / 2**30:.2f} GB; "
            + "".join(f"child {pid} RSS peak {peak / 2**30:.2f} GB; " for pid, peak in peaks.items())
            + f"together RSS peak {watch.peak / 2**30:.2f} GB, PSS peak {watch.pss_peak / 2**30:.2f} GB"
        )
