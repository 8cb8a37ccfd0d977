"""Python stubs for grpc.testing.TestService, generated at run time.

The protos are Debian's (`grpc-proto` package):
/usr/share/grpc-proto/grpc/testing/{test,messages,empty}.proto. They are
generated with `python -m grpc_tools.protoc`, like Tests/CrossLanguage does
for person.proto.

One wrinkle: generated as they are laid out (grpc/testing/*.proto) the Python
modules would be `grpc.testing.test_pb2` and friends, inside grpcio's own
`grpc` package, where Python would never find them. So the three files are
copied flat into the output directory and their `import "grpc/testing/X.proto"`
lines rewritten to `import "X.proto"`. Only file paths change: the proto
package stays `grpc.testing`, so method paths on the wire are the official
ones (`/grpc.testing.TestService/UnaryCall`, ...). The modules are then the
top-level `test_pb2`, `test_pb2_grpc`, `messages_pb2` and `empty_pb2`.

Where they go: $INTEROP_STUBS_DIR if set (test_interop.py generates them once
per session and passes the directory on, so each client run does not pay for
protoc), otherwise a temporary directory removed at exit.
"""

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROTO_SOURCE = os.environ.get("INTEROP_PROTO_DIR",
                              "/usr/share/grpc-proto/grpc/testing")
PROTOS = ("empty.proto", "messages.proto", "test.proto")
_IMPORT = re.compile(r'^import\s+"grpc/testing/([A-Za-z0-9_]+\.proto)";', re.M)


def generate(out_dir):
    """Copies the protos flat into out_dir and runs protoc there."""
    for name in PROTOS:
        source = os.path.join(PROTO_SOURCE, name)
        if not os.path.isfile(source):
            raise SystemExit(
                "error: %s not found; install Debian's grpc-proto package "
                "(or set INTEROP_PROTO_DIR)" % source)
        with open(source, encoding="utf-8") as f:
            text = _IMPORT.sub(r'import "\1";', f.read())
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write(text)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I" + out_dir,
         "--python_out=" + out_dir, "--grpc_python_out=" + out_dir]
        + [os.path.join(out_dir, name) for name in PROTOS],
        check=True, timeout=120)
    return out_dir


def is_generated(out_dir):
    return all(os.path.isfile(os.path.join(out_dir, m)) for m in (
        "empty_pb2.py", "messages_pb2.py", "test_pb2.py", "test_pb2_grpc.py"))


def load():
    """Returns (empty_pb2, messages_pb2, test_pb2_grpc), generating as needed."""
    out_dir = os.environ.get("INTEROP_STUBS_DIR")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        if not is_generated(out_dir):
            generate(out_dir)
    else:
        out_dir = tempfile.mkdtemp(prefix="interop-stubs-")
        atexit.register(shutil.rmtree, out_dir, True)
        generate(out_dir)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)
    import empty_pb2
    import messages_pb2
    import test_pb2_grpc
    return empty_pb2, messages_pb2, test_pb2_grpc
