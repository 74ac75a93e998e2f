"""Two app servers behind a real nginx, configured as compose.yaml configures it (issue 18).

No Docker engine runs here, so the hall is built from its parts on loopback ports: two
`streamlit run` servers sharing one models folder, and Debian's nginx with the config
rendered from `deploy/nginx/dnnlab.conf.template` (the file compose mounts into the
balancer). Which server answered each request is read from nginx's own access log.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support import ROOT, copy_shipped, free_port, log_tail, start_streamlit, wait_healthy

TEMPLATE = ROOT / "deploy" / "nginx" / "dnnlab.conf.template"
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
SEAT = re.compile(r"^[0-9a-f]{32}$")
WAIT = 180_000  # ms: a first run imports TensorFlow, 60 s on a 2-core machine at load 30
TRAINING = 300_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(NGINX is None, reason="no nginx: `make test` installs Debian's nginx-light"),
]


def render(template: str, values: dict[str, str]) -> str:
    """Fill in `${NAME}` placeholders as the nginx image's envsubst does: only the names
    given, so nginx's own `$variables` stay as they are."""
    text = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m[1], m[0]), template)
    missing = set(re.findall(r"\$\{(\w+)\}", text))
    assert not missing, f"the template needs {missing}"
    return text


@dataclass(frozen=True)
class Route:
    request: str
    status: int
    seat: str
    upstream: str


LOG_LINE = re.compile(
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) \d+ seat=(?P<seat>\S+) upstream=(?P<upstream>.+) \S+$'
)


@dataclass
class Hall:
    url: str  # the balancer
    servers: dict[str, str]  # nginx's upstream address → the server's own URL
    access_log: Path

    def routes(self) -> list[Route]:
        found = []
        for line in self.access_log.read_text().splitlines():
            if m := LOG_LINE.search(line):
                found.append(Route(m["request"], int(m["status"]), m["seat"], m["upstream"]))
        return found

    def routes_of(self, seat: str, until=lambda routes: bool(routes), timeout: float = 30.0) -> list[Route]:
        """This seat's requests, once `until` holds: nginx logs a request after answering
        it, and a websocket only when it closes."""
        deadline = time.monotonic() + timeout
        while True:
            mine = [r for r in self.routes() if r.seat == seat]
            if until(mine) or time.monotonic() > deadline:
                return mine
            time.sleep(0.1)

    def first_visit(self, cookie: str | None = None) -> tuple[str | None, str]:
        """GET / as a browser would: (the seat cookie the balancer set, if any; the server)."""
        request = urllib.request.Request(self.url + "/", headers={"Cookie": cookie} if cookie else {})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            jar = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar.load(header)
        new_seat = jar["dnnlab_seat"].value if "dnnlab_seat" in jar else None
        seat = new_seat or SimpleCookie(cookie)["dnnlab_seat"].value
        routes = self.routes_of(seat)
        assert routes, f"nginx logged no request for seat {seat}"
        return new_seat, routes[-1].upstream


def start_nginx(folder: Path, upstreams: list[str]) -> tuple[subprocess.Popen, str, Path]:
    """Debian's nginx on a free loopback port, in the foreground, all files in `folder`."""
    port = free_port()
    access_log = folder / "access.log"
    site = folder / "dnnlab.conf"
    site.write_text(
        render(
            TEMPLATE.read_text(),
            {
                "DNNLAB_UPSTREAM": " ".join(f"server {u};" for u in upstreams),
                "DNNLAB_LISTEN": f"127.0.0.1:{port}",
                "DNNLAB_ACCESS_LOG": str(access_log),
            },
        )
    )
    # What the nginx image's own nginx.conf provides around conf.d/, here in a temp folder;
    # one process (no master/worker split), so it runs as whoever runs the tests.
    main = folder / "nginx.conf"
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  include {site};\n}}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, url, 60, lambda: log_tail(folder / "error.log"), "nginx")
    return process, url, access_log


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """Two app servers sharing one models folder, behind nginx."""
    models = copy_shipped(tmp_path_factory.mktemp("hall-models"), ["cnn"])
    env = {"DNNLAB_MODELS": str(models), "DNNLAB_TRAIN_LIMIT": "2000"}
    loopback = [
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    logs = tmp_path_factory.mktemp("hall-logs")
    processes = []
    try:
        servers = {}
        for n in range(2):
            process, url = start_streamlit(env, 120, extra_args=loopback, log_path=logs / f"server{n}.log")
            processes.append(process)
            servers[url.removeprefix("http://")] = url
        balancer, url, access_log = start_nginx(tmp_path_factory.mktemp("nginx"), list(servers))
        processes.append(balancer)
        yield Hall(url, servers, access_log)
    finally:
        stop(processes)


@pytest.fixture(scope="module")
def seats(hall) -> dict[str, str]:
    """One seat per server, as the balancer hands them out to new browsers."""
    found: dict[str, str] = {}
    for _ in range(64):  # each new seat lands on either server with probability 1/2
        seat, upstream = hall.first_visit()
        found.setdefault(upstream, seat)
        if len(found) == len(hall.servers):
            return found
    pytest.fail(f"64 new browsers all landed on {set(found)}")


def seated_page(browser, hall: Hall, seat: str):
    """A browser whose balancer cookie is `seat`, as after its first visit."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "dnnlab_seat", "value": seat, "url": hall.url}])
    page = context.new_page()
    page.set_default_timeout(WAIT)
    return context, page


def prediction(page):
    return page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricValue")


def test_new_browsers_get_seats_and_keep_their_server(hall, seats):
    assert set(seats) == set(hall.servers)  # new browsers spread over both servers
    for upstream, seat in seats.items():
        assert SEAT.match(seat), seat
        for _ in range(3):  # the same browser, back again: the same server, no new seat
            new_seat, again = hall.first_visit(f"dnnlab_seat={seat}")
            assert (new_seat, again) == (None, upstream)


def test_a_forged_seat_is_replaced_by_a_fresh_one(hall):
    new_seat, _ = hall.first_visit('dnnlab_seat="../../x"')
    assert new_seat is not None and SEAT.match(new_seat)


def test_each_session_and_its_uploads_stay_on_its_server(hall, seats, browser, mnist, tmp_path):
    from PIL import Image

    (_, _), (images, labels) = mnist
    upload = tmp_path / "digit.png"
    Image.fromarray(images[0]).resize((280, 280)).save(upload)
    students = [seated_page(browser, hall, seat) for seat in seats.values()]
    try:
        for _ in range(2):  # the second load: a new websocket, a new session
            for _, page in students:  # one student per server, both servers at work at once
                page.goto(f"{hall.url}/draw")
            for _, page in students:
                page.get_by_role("tab", name="Upload an image").click()
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
            for _, page in students:
                # Streamlit refuses an upload for a session its server does not hold.
                expect(prediction(page)).to_have_text(str(labels[0]), timeout=WAIT)
    finally:
        for context, _ in students:
            context.close()

    def done(routes):
        return sum(r.request.startswith("GET /_stcore/stream") for r in routes) >= 2

    for upstream, seat in seats.items():
        routes = hall.routes_of(seat, until=done)
        assert {r.upstream for r in routes} == {upstream}
        streams = [r for r in routes if r.request.startswith("GET /_stcore/stream")]
        uploads = [r for r in routes if r.request.startswith("PUT /_stcore/upload_file/")]
        assert len(streams) >= 2 and {r.status for r in streams} == {101}, streams
        assert len(uploads) == 2 and {r.status for r in uploads} == {204}, uploads


def test_a_model_saved_on_one_server_is_listed_on_the_other(hall, seats, browser):
    (trainer_server, trainer_seat), (viewer_server, viewer_seat) = seats.items()
    name = f"hall-{secrets.token_hex(4)}"
    viewer_context, viewer = seated_page(browser, hall, viewer_seat)
    trainer_context, trainer = seated_page(browser, hall, trainer_seat)
    try:
        viewer.goto(f"{hall.url}/draw")
        models = viewer.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
        models.click()
        expect(viewer.get_by_role("option", name="cnn (")).to_be_visible(timeout=WAIT)
        expect(viewer.get_by_role("option", name=f"{name} (")).to_have_count(0)
        viewer.keyboard.press("Escape")

        trainer.goto(f"{hall.url}/?preset=mlp-relu&epochs=1")
        sidebar = trainer.get_by_test_id("stSidebar")
        chosen = sidebar.locator(".st-key-train_preset_mlp-relu").get_by_test_id("stBaseButton-primary")
        expect(chosen.first).to_be_visible(timeout=WAIT)
        expect(trainer.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT)
        trainer.get_by_role("button", name="Train", exact=True).click()
        expect(trainer.get_by_test_id("stMetric").filter(has_text="Test accuracy")).to_be_visible(
            timeout=TRAINING
        )
        trainer.get_by_label("Model name").fill(name)
        trainer.get_by_label("Model name").press("Enter")
        trainer.get_by_role("button", name="Save", exact=True).click()
        expect(trainer.get_by_text(f"Saved as {name}")).to_be_visible(timeout=WAIT)

        viewer.reload()  # a new run on the viewer's own server lists the models again
        models.click()
        expect(viewer.get_by_role("option", name=f"{name} (")).to_be_visible(timeout=WAIT)
    finally:
        trainer_context.close()
        viewer_context.close()
    assert {r.upstream for r in hall.routes_of(trainer_seat)} == {trainer_server}
    assert {r.upstream for r in hall.routes_of(viewer_seat)} == {viewer_server}
