"""Packages built as users build them, depending on this checkout by path:

1. `hello`: a package of one target holding only person.proto and main.swift, with
   the GRPCSimpleGenerator build plugin, built (both code generators run inside
   `swift build`) and run; then the same build without protoc must fail with one line
   saying how to install it.
2. `configured`: grpc-simple-config.json (public visibility, messages without
   services, an import path outside the target).
3. `person`: the README tutorial's package, every file exactly as the README shows
   it (each code block the README marks `<!-- file: person/... -->`), built, then
   its server run in the background into a log file as the tutorial says, and its
   client, its errors and the streaming example run against it.

The packages are written to a temporary folder. Two things differ from a user's
machine, both so that the packages build in the same build folder as the rest of
scripts/test (PACKAGES_SCRATCH, the root's .build), where everything they share with
the root package is compiled already:
- the dependency `path: "../grpc-simple"` (a clone next to the package, as the README
  says) becomes this checkout's real path. A symlink named grpc-simple would do, but
  SwiftPM keeps a symlinked path as it is, and gRPC Simple's own modules would compile
  once more from the other path (and again in the root's next build). The `name:` the
  README gives the dependency is what makes it work whatever the checkout's folder is
  called, which this therefore tests too;
- the root's Package.resolved is copied into each package, so that they resolve to the
  versions already built rather than to whatever is newest.
Without PACKAGES_SCRATCH, the packages build in a build folder of their own that starts
empty, as on a new user's machine (every dependency compiles: minutes).

Run: .venv/bin/python -m pytest Tests/Packages   (needs swift and protoc on PATH)
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
PERSON_PROTO = os.path.join(ROOT, "Examples", "person", "Sources", "PersonService", "person.proto")
BUILD_TIMEOUT = 60 * 60
RUN_TIMEOUT = 60
# What the README tells a user to write, with a clone of gRPC Simple next to their package.
README_DEPENDENCY = '.package(name: "grpc-simple", path: "../grpc-simple")'


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The folder holding the packages."""
    return tmp_path_factory.mktemp("packages")


@pytest.fixture(scope="module")
def scratch(workspace):
    shared = os.environ.get("PACKAGES_SCRATCH")
    if shared:
        return pathlib.Path(shared)
    folder = workspace / "build"
    folder.mkdir()
    return folder


def dependency_on_this_checkout():
    """The README's dependency line, with this checkout's real path for the clone's."""
    return '.package(name: "grpc-simple", path: %s)' % json.dumps(os.path.realpath(ROOT))


def write_package(package, manifest):
    """Package.swift, with the dependency on this checkout, and the root's Package.resolved."""
    assert README_DEPENDENCY in manifest, "the manifest does not say %s" % README_DEPENDENCY
    write(package / "Package.swift", manifest.replace(README_DEPENDENCY, dependency_on_this_checkout()))
    resolved = os.path.join(ROOT, "Package.resolved")
    if os.path.exists(resolved):
        shutil.copy(resolved, package / "Package.resolved")


def swift_build(package, scratch, env=None):
    started = time.monotonic()
    # --disable-build-manifest-caching: in a build folder shared with other packages, SwiftPM
    # would otherwise reuse the previous package's cached build plan and skip this one's targets.
    result = subprocess.run(["swift", "build", "--scratch-path", str(scratch), "--disable-build-manifest-caching"],
                            cwd=package,
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env)
    return result, time.monotonic() - started


def describe(result):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (result.returncode, result.stdout[-6000:], result.stderr[-6000:])


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plugin_outputs(scratch, package, target):
    folder = scratch / "plugins" / "outputs" / package / target / "destination" / "GRPCSimpleGenerator"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


# -- 1. the plugin, from an empty build folder ------------------------------------------

HELLO_PACKAGE = """\
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hello",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "grpc-simple", path: "../grpc-simple")],
    targets: [
        .executableTarget(
            name: "hello",
            dependencies: [.product(name: "GRPCSimple", package: "grpc-simple")],
            plugins: [.plugin(name: "GRPCSimpleGenerator", package: "grpc-simple")]
        )
    ]
)
"""

HELLO_MAIN = """\
import GRPCSimple

struct Failure: Error {}

struct PersonServer: AsillaServiceProvider {
    func getInfor(request: RequestInforPerson, context: ServerContext) async throws -> Person {
        .with { $0.name = request.name; $0.id = 7; $0.married = true }
    }
    func checkMarried(request: RequestCheckMaritalStatus, context: ServerContext) async throws -> RespondGetMaritalStatus {
        throw Failure()  // not an RPCError: the client gets UNKNOWN, the server's log the error
    }
}

let server = Server(services: [PersonServer()], workers: 1)
try await server.start(host: "127.0.0.1", port: 0)
let client = AsillaServiceClient(channel: try GRPCChannel(host: "127.0.0.1", port: server.port!))
let person = try await client.getInfor(.with { $0.name = "plugin" })
print("\\(person.name) \\(person.id) \\(person.married)")
do {
    _ = try await client.checkMarried(.with { $0.name = "plugin" })
} catch {
    print("\\(error)")
}
await server.shutdown()
"""


@pytest.fixture(scope="module")
def hello(workspace, scratch):
    package = workspace / "hello"
    write_package(package, HELLO_PACKAGE)
    (package / "Sources" / "hello").mkdir(parents=True)
    shutil.copy(PERSON_PROTO, package / "Sources" / "hello" / "person.proto")
    write(package / "Sources" / "hello" / "main.swift", HELLO_MAIN)
    result, seconds = swift_build(package, scratch)
    print("\nswift build of a package using GRPCSimpleGenerator, in %s: %.0f s" % (scratch, seconds))
    assert result.returncode == 0, describe(result)
    return package


def test_the_plugin_generates_messages_and_services_in_swift_build(hello, scratch):
    assert plugin_outputs(scratch, "hello", "hello") == ["person.grpc.swift", "person.pb.swift"]
    result = subprocess.run([str(scratch / "debug" / "hello")], capture_output=True, text=True,
                            timeout=RUN_TIMEOUT)
    assert result.returncode == 0, describe(result)
    assert result.stdout.splitlines() == ["plugin 7 true", "UNKNOWN: the handler of /AsillaService/checkMarried failed"]
    # The server's default logger: the start-up line and the handler's real error, on standard error.
    assert "listening on 127.0.0.1:" in result.stderr, describe(result)
    assert "handler failed" in result.stderr and "Failure()" in result.stderr, describe(result)


def test_without_protoc_the_build_fails_with_one_line_that_says_how_to_install_it(hello, scratch, tmp_path):
    # PATH as it is, less protoc: a folder of links to everything else in PATH's folders.
    tools = tmp_path / "bin"
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if name != "protoc" and not (tools / name).exists():
                os.symlink(os.path.join(folder, name), tools / name)
    env = dict(os.environ, PATH=str(tools))
    env.pop("PROTOC_PATH", None)
    (hello / "Sources" / "hello" / "person.proto").touch()
    result, _ = swift_build(hello, scratch, env=env)
    assert result.returncode != 0, describe(result)
    output = result.stdout + result.stderr
    line = "GRPCSimpleGenerator needs protoc to compile .proto files, and it is not on PATH: install it " \
           "(apt-get install protobuf-compiler; brew install protobuf) or set PROTOC_PATH=/path/to/protoc"
    assert line in output, describe(result)
    # PROTOC_PATH alone is enough.
    env["PROTOC_PATH"] = shutil.which("protoc")
    result, _ = swift_build(hello, scratch, env=env)
    assert result.returncode == 0, describe(result)


# -- 2. grpc-simple-config.json -----------------------------------------------------------

CONFIGURED_PACKAGE = """\
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "configured",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "grpc-simple", path: "../grpc-simple")],
    targets: [
        // Messages only, public: another module uses them.
        .target(
            name: "Model",
            dependencies: [.product(name: "GRPCSimple", package: "grpc-simple")],
            plugins: [.plugin(name: "GRPCSimpleGenerator", package: "grpc-simple")]
        ),
        // A proto that imports one from outside the target (an import path).
        .executableTarget(
            name: "app",
            dependencies: ["Model", .product(name: "GRPCSimple", package: "grpc-simple")],
            plugins: [.plugin(name: "GRPCSimpleGenerator", package: "grpc-simple")]
        ),
    ]
)
"""


def test_the_configuration_file(workspace, scratch, hello):
    package = workspace / "configured"
    write_package(package, CONFIGURED_PACKAGE)
    write(package / "Sources" / "Model" / "grpc-simple-config.json", '{"visibility": "public", "services": false}')
    # A target needs one Swift file of its own (SwiftPM skips a target holding only a .proto).
    write(package / "Sources" / "Model" / "Model.swift", "public let modelVersion = 1\n")
    write(package / "Sources" / "Model" / "model.proto",
          'syntax = "proto3";\npackage model;\nmessage Item { string name = 1; }\n'
          'service Catalog { rpc Get (Item) returns (Item); }\n')
    write(package / "protos" / "rules.proto",
          'syntax = "proto3";\npackage rules;\nimport "google/protobuf/descriptor.proto";\n'
          'extend google.protobuf.FieldOptions { string rule = 50001; }\n')
    write(package / "Sources" / "app" / "grpc-simple-config.json", '{"importPaths": ["../../protos"]}')
    write(package / "Sources" / "app" / "app.proto",
          'syntax = "proto3";\npackage app;\nimport "rules.proto";\n'
          'message Note { string text = 1 [(rules.rule) = "not empty"]; }\n'
          'service Notes { rpc Echo (Note) returns (Note); }\n')
    write(package / "Sources" / "app" / "main.swift",
          'import Model\n'
          'let item = Model_Item.with { $0.name = "public" }\n'
          'let note = App_Note.with { $0.text = item.name }\n'
          'print(note.text, App_Notes.Method.echo.path, App_App_FileDescriptors.all.map(\\.name))\n')
    result, _ = swift_build(package, scratch)
    assert result.returncode == 0, describe(result)
    # services: false writes no .grpc.swift at all.
    assert plugin_outputs(scratch, "configured", "Model") == ["model.pb.swift"]
    assert plugin_outputs(scratch, "configured", "app") == ["app.grpc.swift", "app.pb.swift"]
    run = subprocess.run([str(scratch / "debug" / "app")], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert run.stdout == 'public /app.Notes/Echo ["app.proto", "rules.proto", "google/protobuf/descriptor.proto"]\n', \
        describe(run)


# -- 3. the README tutorial, as written -------------------------------------------------------

def readme_files():
    """Every code block of the README marked `<!-- file: PATH -->`, by PATH."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"<!-- file: (\S+) -->\s*\n```[a-z]*\n(.*?)\n```", text, re.S)
    return {path: body + "\n" for path, body in blocks}


@pytest.fixture(scope="module")
def tutorial(workspace, scratch, hello):
    files = readme_files()
    for path in ("person/Package.swift", "person/Sources/PersonService/person.proto",
                 "person/Sources/PersonService/PersonServer.swift",
                 "person/Sources/person-server/main.swift", "person/Sources/person-client/main.swift"):
        assert path in files, "the README shows no %s" % path
    for path, body in files.items():
        if path == "person/Package.swift":
            write_package(workspace / "person", body)
        else:
            write(workspace / path, body)
    result, seconds = swift_build(workspace / "person", scratch)
    print("\nswift build of the README tutorial's package, in %s: %.0f s" % (scratch, seconds))
    assert result.returncode == 0, describe(result)
    return workspace / "person", scratch / "debug"


class Background:
    """`nohup BINARY ARGS >> log.log &`, as the tutorial starts its server."""

    def __init__(self, argv, log):
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)

    def wait_for(self, text):
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            if text in self.log.read_text():
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def test_the_tutorial_server_and_client(tutorial):
    package, binaries = tutorial
    port = free_port()
    server = Background([str(binaries / "person-server"), str(port)], package / "log.log")
    try:
        # The start-up line reaches the log file while the server runs (no buffering).
        assert server.wait_for("listening on 0.0.0.0:%d" % port), (package / "log.log").read_text()
        result = subprocess.run([str(binaries / "person-client"), "trung", str(port)], capture_output=True,
                                text=True, timeout=RUN_TIMEOUT)
        assert result.returncode == 0, describe(result)
        lines = result.stdout.splitlines()
        assert len(lines) == 2 and lines[0] in ("married: true", "married: false"), describe(result)
        assert re.fullmatch(r"trung, id \d+, married: (true|false)", lines[1]), describe(result)

        # A second server on the same port: one line naming the address and the OS error.
        second = subprocess.run([str(binaries / "person-server"), str(port)], capture_output=True, text=True,
                                timeout=RUN_TIMEOUT)
        assert second.returncode == 1, describe(second)
        assert second.stderr == ("error: could not listen on 0.0.0.0:%d: Address already in use (errno 98)\n"
                                 % port), describe(second)
    finally:
        server.stop()
    assert server.process.returncode == 0, (package / "log.log").read_text()


def test_the_tutorial_client_reports_a_missing_server_in_one_line(tutorial):
    _, binaries = tutorial
    port = free_port()
    result = subprocess.run([str(binaries / "person-client"), "trung", str(port)], capture_output=True, text=True,
                            timeout=RUN_TIMEOUT)
    assert result.returncode == 1, describe(result)
    assert result.stderr == (
        "error: UNAVAILABLE: failed to connect to 127.0.0.1:%d: Connection refused (errno 111); "
        "check that the server is running and listening on that address\n" % port), describe(result)
    assert result.stdout == ""


def test_the_tutorial_streaming_example(tutorial):
    package, binaries = tutorial
    files = readme_files()
    assert "person/Sources/words/words.proto" in files and "person/Sources/words/main.swift" in files
    result = subprocess.run([str(binaries / "words")], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, describe(result)
    expected = readme_output("words")
    assert result.stdout == expected, describe(result)


def readme_output(name):
    """The output the README shows for `swift run NAME` (the block marked `<!-- output: NAME -->`)."""
    with open(README, encoding="utf-8") as f:
        match = re.search(r"<!-- output: %s -->\s*\n```[a-z]*\n(.*?)\n```" % re.escape(name), f.read(), re.S)
    assert match, "the README shows no output of %s" % name
    return match.group(1) + "\n"
