"""A real browser calls our Swift `person-server` ($PERSON_SERVER): headless Chromium
(Debian's `chromium`) loads Examples/web from one origin and calls the server on another with
Connect (JSON) and gRPC-Web (text), through CORS; the test reads what the page shows.

Every process listens on 127.0.0.1 only and is killed by PID when its test ends; the browser
runs with a time budget and a subprocess timeout.
"""

import functools
import http.server
import os
import re
import shutil
import subprocess
import tempfile
import threading

import pytest

from test_cross_language import ROOT, Server, binary

WEB = os.path.join(ROOT, "Examples", "web")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_TIMEOUT = 90

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def page_server():
    """Examples/web over HTTP on 127.0.0.1, on a port the system picks."""
    handler = functools.partial(QuietHandler, directory=WEB)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_person_server(*extra):
    server = Server([binary("PERSON_SERVER"), "--host", "127.0.0.1", "--port", "0", *extra])
    try:
        server.wait_listening()
    except BaseException:
        server.kill()
        raise
    return server


def load(url):
    """The page's DOM once its scripts ran (both calls made, or the time budget spent)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        argv = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=15000",
                "--dump-dom", url]
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=BROWSER_TIMEOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def result(dom, element):
    match = re.search(r'<pre id="%s">(.*?)</pre>' % element, dom, re.S)
    assert match, dom[-2000:]
    return match.group(1)


def test_a_browser_calls_with_connect_and_grpc_web_through_cors(page_server):
    server = start_person_server("--cors-origin", page_server)
    try:
        dom = load("%s/?server=http://%s&auto=Ada" % (page_server, server.address))
    finally:
        server.kill()
    assert "<title>done</title>" in dom
    connect = result(dom, "connect-result")
    grpc_web = result(dom, "grpcweb-result")
    assert re.fullmatch(r"name=Ada id=\d+ married=(true|false)", connect), connect
    assert re.fullmatch(r"name=Ada id=\d+ married=(true|false)", grpc_web), grpc_web


def test_without_cors_the_browser_refuses_the_answers(page_server):
    server = start_person_server()  # no --cors-origin
    try:
        dom = load("%s/?server=http://%s&auto=Ada" % (page_server, server.address))
    finally:
        server.kill()
    assert result(dom, "connect-result").startswith("error:")
    assert result(dom, "grpcweb-result").startswith("error:")


def test_errors_reach_the_page_in_each_protocol(page_server):
    server = start_person_server("--cors-origin", "*")
    try:
        dom = load("%s/?server=http://%s&auto=Ada&method=nope" % (page_server, server.address))
    finally:
        server.kill()
    assert result(dom, "connect-result") == "error: unimplemented: unknown method nope for service AsillaService"
    assert result(dom, "grpcweb-result") == "error: grpc-status 12: unknown method nope for service AsillaService"
