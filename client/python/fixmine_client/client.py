"""The fixmine Python client: a thin wrapper over the generated gRPC stubs.

Needs an interpreter that can import ``grpc`` and ``google.protobuf``: Debian's /usr/bin/python3
with python3-grpcio and python3-protobuf (deploy/install-deps.sh), or any python3 with pip's
``grpcio`` and ``protobuf`` (4.21 or later). Importing it elsewhere raises ImportError saying so.
"""

import collections
import json
import sys
import time


def _missing(what, err):
    return ImportError(
        "fixmine_client: the Python interpreter %s (Python %d.%d) cannot import %s (%s). "
        "The client needs gRPC and protobuf for Python: on Debian/Ubuntu run it with Debian's "
        "/usr/bin/python3 after `apt-get install python3-grpcio python3-protobuf` "
        "(python3-zstandard too to read exported .jsonl.zst shards); a pyenv, conda or "
        "virtualenv python does not see Debian's packages, so there run "
        "`pip install grpcio protobuf` instead. See docs/formats.md, \"Python client\"."
        % (sys.executable or "python3", sys.version_info[0], sys.version_info[1], what, err))


try:
    import grpc
    from google.protobuf import json_format
except ImportError as _err:
    raise _missing("grpc and google.protobuf", _err) from _err

try:
    from fixmine.v1 import records_service_pb2 as pb
    from fixmine.v1 import records_service_pb2_grpc as pb_grpc
    from fixmine.v1 import trajectories_pb2 as tpb
    from fixmine.v1 import trajectories_pb2_grpc as tpb_grpc
    from fixmine.v1 import github_pb2 as gpb
    from fixmine.v1 import github_pb2_grpc as gpb_grpc
except ImportError as _err:
    raise ImportError(
        "fixmine_client: the generated stubs fixmine.v1.*_pb2 cannot be imported (%s): build "
        "the project (`cmake --build build`) and put build/python on PYTHONPATH; see "
        "docs/formats.md, \"Python client\"." % (_err,)) from _err

# Export templates of records (docs/formats.md); "raw" yields the record itself.
FORMATS = ("raw", "commitpack", "chat", "sharegpt", "swe", "datatrove")
# Formats of trajectories (docs/formats.md): "raw" or "chat".
TRAJECTORY_FORMATS = ("raw", "chat")
# Curation presets (docs/curation.md); None or "" for none.
PRESETS = ("default", "commitpackft")

# Status codes after which a stream is resumed from its last token: the server went away or
# restarted (a drained server cancels its streams), or the connection broke.
_RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
)


def _record_dict(record):
    return json_format.MessageToDict(record, preserving_proto_field_name=True)


class RecordStream:
    """An iterator over the rows of one stream (StreamRecords, ReadStream or
    StreamTrajectories).

    Yields dicts (proto JSON field names for raw records or trajectories; the template's fields
    otherwise), or ``fixmine.v1.Record`` / ``Trajectory`` messages when ``as_proto`` was asked
    for with the raw format. ``resume_token`` continues right after the last batch whose rows
    were all yielded; pass it to a new stream with the same arguments to continue in another
    process. When the connection breaks or the server restarts, the stream resumes from that
    token by itself (up to ``retries`` times in a row without progress), so no row is yielded
    twice or skipped. ``records`` counts the records (or trajectories) received so far.
    """

    def __init__(self, client, call, request, as_proto, items="records",
                 item_count="record_count"):
        self._client = client
        self._call = call  # the stub method: StreamRecords, ReadStream or StreamTrajectories
        self._request = request
        self._as_proto = as_proto
        self._items = items  # the response's repeated message field
        self._item_count = item_count  # the response's count of items covered
        self._limit = request.limit
        self.resume_token = request.resume_token
        self.records = 0  # items received (commitpack may give several rows per record)
        self.retries_used = 0

    def __iter__(self):
        failures = 0
        while True:
            self._request.resume_token = self.resume_token
            if self._limit:
                self._request.limit = self._limit - self.records
                if self._request.limit <= 0:
                    return
            responses = self._call(self._request, metadata=self._client._metadata)
            try:
                for batch in responses:
                    failures = 0
                    items = getattr(batch, self._items)
                    rendered = getattr(batch, "rendered", None)  # none on instance batches
                    if rendered:
                        for row in rendered:
                            yield json.loads(row)
                    else:
                        for item in items:
                            yield item if self._as_proto else _record_dict(item)
                    counted = getattr(batch, self._item_count) if self._item_count else 0
                    self.records += counted or len(items)
                    self.resume_token = batch.resume_token
                return
            except grpc.RpcError as err:
                if err.code() not in _RETRYABLE or failures >= self._client.retries:
                    raise
                failures += 1
                self.retries_used += 1
                time.sleep(min(self._client.backoff * (2 ** (failures - 1)), 10.0))
            finally:
                responses.cancel()


# One page of ListRecords: ``records`` (dicts, or Record messages with as_proto) and
# ``next_page_token`` (empty on the last page).
Page = collections.namedtuple("Page", ["records", "next_page_token"])


class ReadSession:
    """A parallel read session: ``streams`` are disjoint and together cover every matching
    record. Each stream can be read in another process (pass its name along: it is plain text and
    needs no server state) with ``Client.read_stream(name)``."""

    def __init__(self, client, response):
        self._client = client
        self.streams = list(response.streams)
        self.generation = response.generation

    def read(self, stream, resume_token="", limit=0, as_proto=False):
        """Reads one stream, by index or by name; see ``Client.read_stream``."""
        name = self.streams[stream] if isinstance(stream, int) else stream
        return self._client.read_stream(name, resume_token=resume_token, limit=limit,
                                        as_proto=as_proto)


class Client:
    """A connection to one fixmined (``HOST:PORT``); ``token`` is sent as a bearer token.

    ``tls_ca`` (a PEM file) connects with TLS trusting that CA; ``tls=True`` alone uses the
    system's CAs; ``tls_cert``/``tls_key`` present a client certificate (mutual TLS). See
    docs/security.md.

    Thread-safe: gRPC channels may be shared; each stream is its own iterator.
    """

    def __init__(self, server="127.0.0.1:50051", token=None, retries=8, backoff=0.25,
                 tls=False, tls_ca=None, tls_cert=None, tls_key=None):
        self.server = server
        self.retries = retries
        self.backoff = backoff
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        options = [("grpc.max_receive_message_length", 64 << 20)]
        if tls or tls_ca or tls_cert:
            def read(path):
                if not path:
                    return None
                with open(path, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(root_certificates=read(tls_ca),
                                                 private_key=read(tls_key),
                                                 certificate_chain=read(tls_cert))
            self._channel = grpc.secure_channel(server, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(server, options=options)
        self._stub = pb_grpc.RecordServiceStub(self._channel)
        self._trajectories = tpb_grpc.TrajectoryServiceStub(self._channel)
        self._github = gpb_grpc.GithubServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _check_format(format, formats=FORMATS):
        if format not in formats:
            raise ValueError("unknown format %r; use one of: %s" % (format, ", ".join(formats)))

    @staticmethod
    def _sample(sample):
        if sample is None:
            return 0.0
        if not 0 < sample <= 1:
            raise ValueError("sample is %r; use a value in (0, 1]" % (sample,))
        return float(sample)

    @staticmethod
    def _preset(preset):
        if not preset:
            return ""
        if preset not in PRESETS:
            raise ValueError("unknown preset %r; use one of: %s (or None for no preset)"
                             % (preset, ", ".join(PRESETS)))
        return preset

    # Every record read takes ``preset`` ("default" or "commitpackft", docs/curation.md; ANDed
    # with the filter) and ``include_contaminated`` (records labelled contaminated by a
    # benchmark are left out unless it is True).

    def count(self, filter="", sample=None, seed=0, preset=None, include_contaminated=False):
        """Number of records matching ``filter`` (and the sample, when given)."""
        req = pb.CountRecordsRequest(filter=filter, sample_rate=self._sample(sample),
                                     sample_seed=seed, preset=self._preset(preset),
                                     include_contaminated=include_contaminated)
        return self._stub.CountRecords(req, metadata=self._metadata).count

    def get(self, id, as_proto=False):
        """One record by id (grpc.RpcError NOT_FOUND when absent)."""
        r = self._stub.GetRecord(pb.GetRecordRequest(id=id), metadata=self._metadata).record
        return r if as_proto else _record_dict(r)

    def list_records(self, filter="", page_size=0, page_token="", preset=None,
                     include_contaminated=False, as_proto=False):
        """One page of ListRecords: a ``Page(records, next_page_token)``. ``page_size`` is 1 to
        1000 (0: the server's 100); pass ``next_page_token`` back, with the same filter, preset
        and include_contaminated, for the next page (it is empty on the last one)."""
        req = pb.ListRecordsRequest(filter=filter, page_size=page_size, page_token=page_token,
                                    preset=self._preset(preset),
                                    include_contaminated=include_contaminated)
        resp = self._stub.ListRecords(req, metadata=self._metadata)
        records = list(resp.records) if as_proto else [_record_dict(r) for r in resp.records]
        return Page(records, resp.next_page_token)

    def stream(self, filter="", format="raw", resume_token="", limit=0, sample=None, seed=0,
               as_proto=False, preset=None, include_contaminated=False):
        """Streams the records matching ``filter`` in ``format``; returns a RecordStream (an
        iterable of dicts that tracks its resume token and resumes by itself)."""
        self._check_format(format)
        req = pb.StreamRecordsRequest(filter=filter, format=format, resume_token=resume_token,
                                      limit=limit, sample_rate=self._sample(sample),
                                      sample_seed=seed, preset=self._preset(preset),
                                      include_contaminated=include_contaminated)
        return RecordStream(self, self._stub.StreamRecords, req, as_proto)

    def read_session(self, filter="", streams=4, format="raw", sample=None, seed=0, preset=None,
                     include_contaminated=False):
        """Creates a parallel read session of ``streams`` disjoint streams (the preset and
        include_contaminated are encoded in the stream names)."""
        self._check_format(format)
        req = pb.CreateReadSessionRequest(filter=filter, max_streams=streams, format=format,
                                          sample_rate=self._sample(sample), sample_seed=seed,
                                          preset=self._preset(preset),
                                          include_contaminated=include_contaminated)
        return ReadSession(self, self._stub.CreateReadSession(req, metadata=self._metadata))

    def read_stream(self, stream, resume_token="", limit=0, as_proto=False):
        """Reads one stream of a read session by name; returns a RecordStream."""
        req = pb.ReadStreamRequest(stream=stream, resume_token=resume_token, limit=limit)
        return RecordStream(self, self._stub.ReadStream, req, as_proto)

    def get_trajectory(self, id, format="raw", as_proto=False):
        """One pull-request trajectory by id (docs/trajectories.md): a dict of the Trajectory
        (raw), the rendered object (``format="chat"``), or the message with ``as_proto``.
        grpc.RpcError NOT_FOUND when absent."""
        self._check_format(format, TRAJECTORY_FORMATS)
        resp = self._trajectories.GetTrajectory(tpb.GetTrajectoryRequest(id=id, format=format),
                                                metadata=self._metadata)
        if resp.rendered:
            return json.loads(resp.rendered)
        return resp.trajectory if as_proto else _record_dict(resp.trajectory)

    def stream_trajectories(self, filter="", format="raw", resume_token="", limit=0,
                            as_proto=False):
        """Streams the trajectories matching a trajectory filter (docs/filters.md, "Trajectory
        filters") in ``format`` ("raw" or "chat"); returns a RecordStream (resumes by itself;
        its ``records`` counts trajectories)."""
        self._check_format(format, TRAJECTORY_FORMATS)
        req = tpb.StreamTrajectoriesRequest(filter=filter, format=format,
                                            resume_token=resume_token, limit=limit)
        return RecordStream(self, self._trajectories.StreamTrajectories, req, as_proto,
                            items="trajectories", item_count="trajectory_count")

    def stream_instances(self, filter="", resume_token="", limit=0, as_proto=False):
        """Streams the SWE-style task instances matching an instance filter (docs/filters.md,
        "Instance filters"; docs/github.md) as dicts of the Instance message (proto field names),
        or messages with ``as_proto``; returns a RecordStream (resumes by itself). ``fixmine
        instances export --format swe`` writes the same instances as SWE-bench rows."""
        req = gpb.StreamInstancesRequest(filter=filter, resume_token=resume_token, limit=limit)
        return RecordStream(self, self._github.StreamInstances, req, as_proto, items="instances",
                            item_count=None)

    def to_dataset(self, filter="", format="raw", limit=0, sample=None, seed=0, preset=None,
                   include_contaminated=False):
        """Builds a Hugging Face ``datasets.Dataset`` from the stream (in memory). Raises
        ImportError with install instructions when ``datasets`` is not installed."""
        try:
            import datasets  # noqa: F401  (optional dependency)
        except ImportError as err:
            raise ImportError(
                "to_dataset needs the Hugging Face 'datasets' package: pip install datasets "
                "(or export shards with `fixmine records export` and load them with "
                "datasets.load_dataset('json', data_files=...))") from err
        stream = self.stream(filter=filter, format=format, limit=limit, sample=sample, seed=seed,
                             preset=preset, include_contaminated=include_contaminated)
        return datasets.Dataset.from_list(list(stream))
