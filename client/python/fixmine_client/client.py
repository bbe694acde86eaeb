"""The fixmine Python client: a thin wrapper over the generated gRPC stubs."""

import json
import time

import grpc
from google.protobuf import json_format

from fixmine.v1 import records_service_pb2 as pb
from fixmine.v1 import records_service_pb2_grpc as pb_grpc

# Export templates (docs/formats.md); "raw" yields the record itself.
FORMATS = ("raw", "commitpack", "chat", "sharegpt", "swe", "datatrove")

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
    """An iterator over the rows of one stream (StreamRecords or ReadStream).

    Yields dicts (proto JSON field names for raw records; the template's fields otherwise), or
    ``fixmine.v1.Record`` messages when ``as_proto`` was asked for with the raw format.
    ``resume_token`` continues right after the last batch whose rows were all yielded; pass it to
    a new stream with the same arguments to continue in another process. When the connection
    breaks or the server restarts, the stream resumes from that token by itself (up to
    ``retries`` times in a row without progress), so no row is yielded twice or skipped.
    """

    def __init__(self, client, call, request, as_proto):
        self._client = client
        self._call = call  # the stub method: StreamRecords or ReadStream
        self._request = request
        self._as_proto = as_proto
        self._limit = request.limit
        self.resume_token = request.resume_token
        self.records = 0  # records received (commitpack may give several rows per record)
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
                    if batch.rendered:
                        for row in batch.rendered:
                            yield json.loads(row)
                    else:
                        for record in batch.records:
                            yield record if self._as_proto else _record_dict(record)
                    self.records += batch.record_count or len(batch.records)
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

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _check_format(format):
        if format not in FORMATS:
            raise ValueError("unknown format %r; use one of: %s" % (format, ", ".join(FORMATS)))

    @staticmethod
    def _sample(sample):
        if sample is None:
            return 0.0
        if not 0 < sample <= 1:
            raise ValueError("sample is %r; use a value in (0, 1]" % (sample,))
        return float(sample)

    def count(self, filter="", sample=None, seed=0):
        """Number of records matching ``filter`` (and the sample, when given)."""
        req = pb.CountRecordsRequest(filter=filter, sample_rate=self._sample(sample),
                                     sample_seed=seed)
        return self._stub.CountRecords(req, metadata=self._metadata).count

    def get(self, id, as_proto=False):
        """One record by id (grpc.RpcError NOT_FOUND when absent)."""
        r = self._stub.GetRecord(pb.GetRecordRequest(id=id), metadata=self._metadata).record
        return r if as_proto else _record_dict(r)

    def stream(self, filter="", format="raw", resume_token="", limit=0, sample=None, seed=0,
               as_proto=False):
        """Streams the records matching ``filter`` in ``format``; returns a RecordStream (an
        iterable of dicts that tracks its resume token and resumes by itself)."""
        self._check_format(format)
        req = pb.StreamRecordsRequest(filter=filter, format=format, resume_token=resume_token,
                                      limit=limit, sample_rate=self._sample(sample),
                                      sample_seed=seed)
        return RecordStream(self, self._stub.StreamRecords, req, as_proto)

    def read_session(self, filter="", streams=4, format="raw", sample=None, seed=0):
        """Creates a parallel read session of ``streams`` disjoint streams."""
        self._check_format(format)
        req = pb.CreateReadSessionRequest(filter=filter, max_streams=streams, format=format,
                                          sample_rate=self._sample(sample), sample_seed=seed)
        return ReadSession(self, self._stub.CreateReadSession(req, metadata=self._metadata))

    def read_stream(self, stream, resume_token="", limit=0, as_proto=False):
        """Reads one stream of a read session by name; returns a RecordStream."""
        req = pb.ReadStreamRequest(stream=stream, resume_token=resume_token, limit=limit)
        return RecordStream(self, self._stub.ReadStream, req, as_proto)

    def to_dataset(self, filter="", format="raw", limit=0, sample=None, seed=0):
        """Builds a Hugging Face ``datasets.Dataset`` from the stream (in memory). Raises
        ImportError with install instructions when ``datasets`` is not installed."""
        try:
            import datasets  # noqa: F401  (optional dependency)
        except ImportError as err:
            raise ImportError(
                "to_dataset needs the Hugging Face 'datasets' package: pip install datasets "
                "(or export shards with `fixmine records export` and load them with "
                "datasets.load_dataset('json', data_files=...))") from err
        stream = self.stream(filter=filter, format=format, limit=limit, sample=sample, seed=seed)
        return datasets.Dataset.from_list(list(stream))
