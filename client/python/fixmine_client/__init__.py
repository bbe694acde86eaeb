"""Python client for fixmined: stream records by filter, in any export format, with transparent
resumption after a broken connection, and parallel read sessions.

    from fixmine_client import Client
    client = Client("127.0.0.1:50051")
    for row in client.stream(filter='lang = "Python"', format="chat"):
        print(row["messages"][1]["content"][:80])

The gRPC stubs (``fixmine.v1.*_pb2``) are generated from ``proto/`` at build time into
``BUILD/python`` (docs/formats.md, "Python client"); put that folder on ``PYTHONPATH``. The
client needs ``grpc`` and ``google.protobuf``: Debian's /usr/bin/python3 with python3-grpcio and
python3-protobuf, or pip's grpcio and protobuf in another interpreter; without them importing
this package raises ImportError naming the interpreter and those packages.
"""

from fixmine_client.client import (
    Client,
    ReadSession,
    RecordStream,
    Page,
    FORMATS,
    TRAJECTORY_FORMATS,
    PRESETS,
)

__all__ = ["Client", "ReadSession", "RecordStream", "Page", "FORMATS", "TRAJECTORY_FORMATS",
           "PRESETS"]
