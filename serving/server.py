r"""An embedded model server speaking TensorFlow Serving's REST API (and its gRPC API).

It serves SavedModel versions from a base directory, as TensorFlow Serving does, loading
them with `tf.saved_model.load` only: no tfxai code runs at serving time, so the
`tfxai.export` SavedModels it serves behave as under `tensorflow/serving`. It takes TF
Serving's flags, so commands and deployment files carry over:

    python -m serving.server --model_name=digits \
        --model_base_path=/tmp/digits_pc/export/digits --rest_api_port=8501
    python -m serving.server --model_config_file=/path/to/models.config --rest_api_port=8501 \
        --port=8500 --enable_batching --batching_parameters_file=serving/batching.config

REST API (paths, bodies, responses and errors as TF Serving's):

| request | answer |
|---|---|
| `GET /v1/models/NAME[/versions/V or /labels/L]` | `{"model_version_status": [{"version", "state", "status"}]}` |
| `GET /v1/models/NAME[/versions/V or /labels/L]/metadata` | `{"model_spec": ..., "metadata": {"signature_def": ...}}` |
| `POST /v1/models/NAME[/versions/V or /labels/L]:predict` | row `{"instances": [...]}` -> `{"predictions": [...]}`; columnar `{"inputs": ...}` -> `{"outputs": ...}`; optional `"signature_name"` |

Errors answer `{"error": "<message>"}` with TF Serving's mapping of status codes to HTTP
(INVALID_ARGUMENT and FAILED_PRECONDITION 400, NOT_FOUND 404, UNAVAILABLE 503,
DEADLINE_EXCEEDED 504, UNIMPLEMENTED 501, INTERNAL 500, ...). With `--port` it also
serves gRPC `PredictionService.Predict` / `GetModelMetadata` and
`ModelService.GetModelStatus` (needs `tensorflow-serving-api`), so TF Serving's own gRPC
clients work unchanged.

Serving model: every `--file_system_poll_wait_seconds` the base directories are listed;
integer subdirectories are versions, the version policy of the model config picks the
ones to serve (default: the highest), new ones are loaded before old ones are dropped.
Requests run on a bounded thread pool, or, with `--enable_batching`, are merged across
concurrent requests per signature (TF Serving's `batching_parameters_file` fields
`max_batch_size`, `batch_timeout_micros`, `max_enqueued_batches`, `num_batch_threads`).
SIGINT / SIGTERM stop accepting connections, finish the requests in flight (up to
`--shutdown_grace_seconds`) and exit 0.

Where it differs from TF Serving, on purpose:
- Inputs are checked against the signature's dtypes and shapes before a model runs (TF
  Serving feeds tensors as they are; a model without in-graph checks may then crash).
- Bounded requests: bodies over `--max_request_bytes` get 413, more than
  `--max_request_batch_size` rows 400 (with batching: more than `max_batch_size`, TF
  Serving's message), more than `--max_inflight_requests` concurrent requests 503.
- `:classify` and `:regress` answer 501 UNIMPLEMENTED (tfxai exports predict signatures).
- `--host` (default 127.0.0.1) is the interface bound; TF Serving binds all of them.
- `--port=0` (the default) disables gRPC; `--rest_api_port` defaults to 8501.
- A version that fails to load is reported (state END with the error) and not retried.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import numpy as np
import tensorflow as tf
import uvicorn
from absl import app, flags, logging
from google.protobuf import json_format, text_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

DEFAULT_SIGNATURE = "serving_default"
SERVE_TAG = "serve"

# TF Serving's mapping of canonical status codes to HTTP (model_servers/http_server.cc).
HTTP_STATUS = {
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}
# TF Serving's REST paths (model_servers/http_rest_api_util.cc), case-insensitive.
_PREDICT_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)", re.IGNORECASE
)
_STATUS_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?", re.IGNORECASE
)
_TF_ERROR_NOISE = re.compile(
    r"Graph execution error:\s*|Detected at node \S+ defined at \(most recent call last\):\n"
    r"(?:<stack traces unavailable>\n|(?:  .*\n)+)|\s*\[Op:[^\]]*\]\s*$"
)
_BATCHING_FIELDS = ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads")
_ACCEPTED_KINDS = {"f": "iuf", "i": "iu", "u": "iu", "b": "b"}  # numpy kind of the signature dtype -> of JSON data


class ServingError(Exception):
    """An error answered to a client: a canonical status code name and a message.

    Args:
        code: a gRPC status code name, e.g. `"INVALID_ARGUMENT"` or `"NOT_FOUND"`.
        message: the message sent in TF Serving's `{"error": message}`.
        http_status: the HTTP status of the REST answer; `None` maps `code` as TF
            Serving does. Defaults to `None`.
    """

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or HTTP_STATUS.get(code, 500)

    @classmethod
    def from_op_error(cls, error: tf.errors.OpError) -> ServingError:
        """The error of a failed model run (e.g. an in-graph check) without the eager noise."""
        code = next((name for name in HTTP_STATUS if getattr(tf.errors, name) == error.error_code), "UNKNOWN")
        return cls(code, _TF_ERROR_NOISE.sub("", error.message).strip())


def _invalid(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


# ----------------------------------------------------------------------------------------
# Configuration: models (TF Serving's ModelServerConfig) and batching parameters
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One served model, as a `config` entry of TF Serving's `model_config_list`.

    Attributes:
        name: the model name of the URLs.
        base_path: the directory holding integer version subdirectories.
        policy: `("latest", n)` (the n highest versions; TF Serving's default with n=1),
            `("all",)` or `("specific", (v1, v2, ...))`.
        labels: version labels, `{"stable": 3}`.
    """

    name: str
    base_path: str
    policy: tuple = ("latest", 1)
    labels: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def select(self, versions: Sequence[int]) -> list[int]:
        """The versions to serve among the `versions` found on disk (ascending)."""
        if self.policy[0] == "latest":
            return sorted(versions)[-self.policy[1] :]
        if self.policy[0] == "specific":
            return sorted(set(versions) & set(self.policy[1]))
        return sorted(versions)


def read_model_config_file(path: str) -> list[ModelConfig]:
    """Parses TF Serving's `--model_config_file` (a text `ModelServerConfig`).

    Relative `base_path`s are resolved against the config file's directory.

    Raises:
        ValueError: the file is not a valid `ModelServerConfig` with a `model_config_list`,
            or uses a platform other than `tensorflow`.
    """
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    with open(path, encoding="utf-8") as f:
        try:
            text_format.Parse(f.read(), config)
        except text_format.ParseError as error:
            raise ValueError(f"Invalid --model_config_file {path}: {error}") from None
    if config.WhichOneof("config") != "model_config_list":
        raise ValueError(f"Invalid --model_config_file {path}: expected a model_config_list.")
    models = []
    for entry in config.model_config_list.config:
        if entry.model_platform not in ("", "tensorflow"):
            raise ValueError(
                f"Invalid --model_config_file {path}: model_platform {entry.model_platform!r} of "
                f"model {entry.name!r}; only 'tensorflow' is served."
            )
        policy_kind = entry.model_version_policy.WhichOneof("policy_choice") or "latest"
        policy = {
            "latest": ("latest", entry.model_version_policy.latest.num_versions or 1),
            "all": ("all",),
            "specific": ("specific", tuple(entry.model_version_policy.specific.versions)),
        }[policy_kind]
        base_path = os.path.join(os.path.dirname(os.path.abspath(path)), entry.base_path)
        models.append(ModelConfig(entry.name, base_path, policy, dict(entry.version_labels)))
    names = [m.name for m in models]
    if not models or len(set(names)) != len(names):
        raise ValueError(f"Invalid --model_config_file {path}: expected distinct model names, received {names}.")
    return models


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
    """Server-side batching, TF Serving's `BatchingParameters` fields that apply here.

    Attributes:
        max_batch_size: rows per merged batch; a request with more rows is rejected.
        batch_timeout_micros: how long the first request of a batch waits for others.
        max_enqueued_batches: queue bound, in batches of `max_batch_size` rows (then
            UNAVAILABLE).
        num_batch_threads: batches run concurrently per signature.
    """

    max_batch_size: int = 32
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 2

    @classmethod
    def parse(cls, text: str) -> BatchingParameters:
        """Reads a `batching_parameters_file` (`max_batch_size { value: 32 }` ...)."""
        text = re.sub(r"#.*", "", text)
        fields = dict(re.findall(r"(\w+)\s*\{\s*value\s*:\s*(\d+)\s*\}", text))
        leftover = re.sub(r"(\w+)\s*\{\s*value\s*:\s*(\d+)\s*\}", "", text).strip()
        unknown = sorted(set(fields) - set(_BATCHING_FIELDS))
        if leftover or unknown:
            raise ValueError(
                f"Invalid batching parameters: supported fields are {_BATCHING_FIELDS}, each as "
                f"'name {{ value: N }}'. Received unknown fields {unknown} and unparsed text {leftover[:80]!r}"
            )
        params = cls(**{name: int(value) for name, value in fields.items()})
        too_small = [f for f in _BATCHING_FIELDS if f != "batch_timeout_micros" and getattr(params, f) < 1]
        if too_small:
            raise ValueError(f"Invalid batching parameters: {too_small} must be >= 1. Received {params}")
        return params


# ----------------------------------------------------------------------------------------
# JSON <-> tensors, TF Serving's row ("instances") and columnar ("inputs") formats
# ----------------------------------------------------------------------------------------


def _to_array(value: Any, spec: tf.TensorSpec, where: str) -> np.ndarray:
    """A JSON value as a numpy array of the signature dtype (TF Serving's type rules)."""
    dtype = spec.dtype.as_numpy_dtype
    kind = np.dtype(dtype).kind
    if kind not in _ACCEPTED_KINDS:
        raise ServingError("UNIMPLEMENTED", f"{where}: conversion of JSON values to type {spec.dtype.name}")
    try:
        array = np.asarray(value)
    except ValueError:
        raise _invalid(f"{where}: lists of unequal lengths; expected a dense tensor") from None
    if array.size and array.dtype.kind not in _ACCEPTED_KINDS[kind]:
        received = {"b": "boolean", "U": "string", "O": "object or mixed"}.get(array.dtype.kind, "decimal")
        raise _invalid(f"{where}: JSON values of type {received} are not of expected type {spec.dtype.name}")
    if array.size and kind in "iu":
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise _invalid(f"{where}: values outside the range of {spec.dtype.name}")
    if array.size and kind == "f":
        finite = np.abs(array[np.isfinite(array)]) if array.dtype.kind == "f" else np.abs(array)
        if finite.size and finite.max() > np.finfo(dtype).max:
            raise _invalid(f"{where}: cannot convert JSON values to {spec.dtype.name} without loss of precision")
    return array.astype(dtype)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and not (len(value) == 1 and "b64" in value)


def tensors_from_json(request: Any, inputs: Mapping[str, tf.TensorSpec]) -> tuple[dict[str, np.ndarray], bool]:
    """The input tensors of a `:predict` body and whether it used the row format.

    Args:
        request: the parsed JSON body.
        inputs: the signature's input specs by name.

    Returns:
        `(tensors, row_format)`.

    Raises:
        ServingError: INVALID_ARGUMENT with TF Serving's message for a malformed body.
    """
    if not isinstance(request, dict):
        raise _invalid(f"JSON Value: {str(request)[:100]} Is not object")
    if "instances" in request and "inputs" in request:
        raise _invalid("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
    names = sorted(inputs)
    if "instances" in request:
        instances = request["instances"]
        if not isinstance(instances, list):
            raise _invalid("Excepting 'instances' to be an list/array")
        if not instances:
            raise _invalid("No values in 'instances' array")
        if _is_object(instances[0]):
            for index, instance in enumerate(instances):
                if not _is_object(instance):
                    raise _invalid(f"Expecting object but got list at item {index} of input list")
                if sorted(instance) != names:
                    raise _invalid(
                        f"Failed to process element: {index} of 'instances' list. JSON object keys "
                        f"{sorted(instance)} must be equal to: {','.join(names)}"
                    )
            columns = {name: [instance[name] for instance in instances] for name in names}
        else:
            if len(names) > 1:
                raise _invalid(
                    "instances is a plain list, but expecting list of objects as multiple input "
                    f"tensors required as per tensorinfo_map: {','.join(names)}"
                )
            if any(_is_object(instance) for instance in instances):
                raise _invalid("Expecting value/list but got object in the 'instances' list")
            columns = {names[0]: instances}
        where = "Failed to process 'instances' key {}"
        return {name: _to_array(columns[name], inputs[name], where.format(name)) for name in names}, True
    if "inputs" in request:
        given = request["inputs"]
        if not _is_object(given):
            if len(names) > 1:
                raise _invalid(
                    "inputs is a plain value/list, but expecting an object as multiple input tensors "
                    f"required as per tensorinfo_map: {','.join(names)}"
                )
            given = {names[0]: given}
        missing = [name for name in names if name not in given]
        if missing:
            raise _invalid(f"Missing named input: {missing[0]} in 'inputs' object.")
        where = "Failed to process 'inputs' key {}"
        return {name: _to_array(given[name], inputs[name], where.format(name)) for name in names}, False
    raise _invalid("Missing 'inputs' or 'instances' key")


def json_from_tensors(outputs: Mapping[str, np.ndarray], row_format: bool) -> dict[str, Any]:
    """TF Serving's `{"predictions": ...}` (row) or `{"outputs": ...}` (columnar) answer."""
    names = sorted(outputs)
    if not row_format:
        if len(names) == 1:
            return {"outputs": outputs[names[0]].tolist()}
        return {"outputs": {name: outputs[name].tolist() for name in names}}
    sizes = {name: (outputs[name].shape or (None,))[0] for name in names}
    if len(set(sizes.values())) != 1 or None in sizes.values():
        raise _invalid(f"Tensors have inconsistent batch sizes {sizes}; use the columnar ('inputs') format")
    if len(names) == 1:
        return {"predictions": outputs[names[0]].tolist()}
    columns = {name: outputs[name].tolist() for name in names}
    return {"predictions": [{name: columns[name][row] for name in names} for row in range(sizes[names[0]])]}


# ----------------------------------------------------------------------------------------
# Loaded versions, signatures and batching
# ----------------------------------------------------------------------------------------


class Signature:
    """One signature of a loaded SavedModel, called with numpy inputs.

    Args:
        name: the signature key.
        function: the loaded concrete function (`loaded.signatures[name]`).
    """

    def __init__(self, name: str, function: Any) -> None:
        self.name = name
        self.function = function
        self.inputs: dict[str, tf.TensorSpec] = dict(function.structured_input_signature[1])

    def check(self, tensors: Mapping[str, np.ndarray]) -> set[int]:
        """Checks input names, dtypes and shapes against the signature.

        Returns:
            The leading dimensions of the inputs (one value when they share a batch axis).
        """
        if set(tensors) != set(self.inputs):
            sent, wanted = sorted(tensors), sorted(self.inputs)
            raise _invalid(
                f"input size does not match signature: {len(sent)}!={len(wanted)} len({{{','.join(sent)}}}) != "
                f"len({{{','.join(wanted)}}}). Sent extra: {{{','.join(sorted(set(sent) - set(wanted)))}}}. "
                f"Missing but required: {{{','.join(sorted(set(wanted) - set(sent)))}}}."
            )
        batches = set()
        for name, array in tensors.items():
            spec = self.inputs[name]
            if array.dtype != spec.dtype.as_numpy_dtype:
                raise _invalid(f"Expects input '{name}' to be {spec.dtype.name} but {array.dtype} is provided")
            if not spec.shape.is_compatible_with(array.shape):
                raise _invalid(
                    f"Input '{name}' of signature '{self.name}' expects shape {_shape_string(spec.shape)}; "
                    f"received shape {list(array.shape)}"
                )
            if spec.shape.rank:
                batches.add(array.shape[0])
        return batches

    def run(self, tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the signature; in-graph failures become `ServingError`s with TF's status code."""
        try:
            outputs = self.function(**{name: tf.constant(value) for name, value in tensors.items()})
        except tf.errors.OpError as error:
            raise ServingError.from_op_error(error) from None
        return {name: value.numpy() for name, value in outputs.items()}


def _shape_string(shape: tf.TensorShape) -> str:
    return "[" + ", ".join("-1" if d is None else str(d) for d in shape.as_list()) + "]"


@dataclasses.dataclass
class _Task:
    tensors: Mapping[str, np.ndarray]
    rows: int
    future: concurrent.futures.Future
    enqueued: float


class _Batcher:
    """Merges concurrent requests to one signature into batches (server-side batching).

    A batch closes when it holds `max_batch_size` rows or `batch_timeout_micros` after
    its first request was queued; `num_batch_threads` threads run batches. If a merged
    batch fails (one request with, e.g., NaN inputs), its requests run one by one so
    that only the faulty one gets the error.
    """

    def __init__(self, signature: Signature, params: BatchingParameters) -> None:
        self._signature = signature
        self._params = params
        self._tasks: collections.deque[_Task] = collections.deque()
        self._queued_rows = 0
        self._closed = False
        self._condition = threading.Condition()
        self._threads = [
            threading.Thread(target=self._loop, name=f"batch-{signature.name}-{i}", daemon=True)
            for i in range(params.num_batch_threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, tensors: Mapping[str, np.ndarray], rows: int) -> concurrent.futures.Future:
        if rows > self._params.max_batch_size:
            raise _invalid(f"Task size {rows} is larger than maximum input batch size {self._params.max_batch_size}")
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._condition:
            if self._closed:
                raise ServingError("UNAVAILABLE", "The servable is being unloaded")
            if self._queued_rows + rows > self._params.max_enqueued_batches * self._params.max_batch_size:
                raise ServingError("UNAVAILABLE", "The batch scheduling queue to which this task was submitted is full")
            self._tasks.append(_Task(tensors, rows, future, time.monotonic()))
            self._queued_rows += rows
            self._condition.notify_all()
        return future

    def close(self) -> None:
        """Runs the queued requests, then stops the batch threads."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join()

    def _next_batch(self) -> list[_Task] | None:
        params = self._params
        with self._condition:
            while not self._tasks and not self._closed:
                self._condition.wait()
            if not self._tasks:
                return None
            deadline = self._tasks[0].enqueued + params.batch_timeout_micros / 1e6
            while not self._closed and self._queued_rows < params.max_batch_size and self._tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            batch, rows = [], 0
            while self._tasks and rows + self._tasks[0].rows <= params.max_batch_size:
                task = self._tasks.popleft()
                batch.append(task)
                rows += task.rows
            self._queued_rows -= rows
            return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            if len(batch) > 1 and self._run_merged(batch):
                continue
            for task in batch:  # a single request, or the requests of a failed merged batch
                try:
                    task.future.set_result(self._signature.run(task.tensors))
                except Exception as error:  # noqa: BLE001 - every failure goes back to its request
                    task.future.set_exception(error)

    def _run_merged(self, batch: list[_Task]) -> bool:
        """Runs `batch` as one tensor per input; returns False (nothing answered) if that fails."""
        try:
            merged = {name: np.concatenate([t.tensors[name] for t in batch]) for name in batch[0].tensors}
            outputs = self._signature.run(merged)
        except Exception:  # noqa: BLE001 - retried request by request to isolate the faulty one
            return False
        ends = np.cumsum([t.rows for t in batch])
        for task, end in zip(batch, ends, strict=True):
            task.future.set_result({name: value[end - task.rows : end] for name, value in outputs.items()})
        return True


class Servable:
    """One loaded version of a model: its signatures, signature defs and batchers.

    Args:
        name: the model name.
        version: the version number.
        path: the version directory (a SavedModel with tag `serve`).
        batching: server-side batching parameters, or `None` to run each request alone.
    """

    def __init__(self, name: str, version: int, path: str, batching: BatchingParameters | None) -> None:
        self.name, self.version, self.path = name, version, path
        self.signature_defs = _read_signature_defs(path)
        loaded = tf.saved_model.load(path, tags=[SERVE_TAG])
        self._loaded = loaded  # keeps the variables of the signatures alive
        self.signatures = {key: Signature(key, function) for key, function in loaded.signatures.items()}
        self._batching = batching
        self._batchers: dict[str, _Batcher] = {}
        self._closed = False
        self._lock = threading.Lock()

    def signature(self, name: str) -> Signature:
        key = name or DEFAULT_SIGNATURE
        if key not in self.signatures:
            raise _invalid(f'Serving signature name: "{key}" not found in signature def')
        return self.signatures[key]

    def submit(
        self, signature: Signature, tensors: Mapping[str, np.ndarray], rows: int, executor: concurrent.futures.Executor
    ) -> concurrent.futures.Future:
        """Schedules a run: on the signature's batcher, or alone on `executor`."""
        if self._batching is None:
            return executor.submit(signature.run, tensors)
        with self._lock:
            if self._closed:
                raise ServingError("UNAVAILABLE", f"Version {self.version} of {self.name} was unloaded; retry")
            if signature.name not in self._batchers:
                self._batchers[signature.name] = _Batcher(signature, self._batching)
            batcher = self._batchers[signature.name]
        return batcher.submit(tensors, rows)

    def close(self) -> None:
        """Answers the queued batched requests and stops the batch threads."""
        with self._lock:
            self._closed = True
            batchers, self._batchers = list(self._batchers.values()), {}
        for batcher in batchers:
            batcher.close()

    def metadata(self) -> dict[str, Any]:
        """TF Serving's `GET .../metadata` answer for this version."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature_def in self.signature_defs.items():
            signature_map.signature_def[key].CopyFrom(signature_def)
        options = {"preserving_proto_field_name": True, "always_print_fields_with_no_presence": True}
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
            "metadata": {"signature_def": json_format.MessageToDict(signature_map, **options)},
        }


def _read_signature_defs(path: str) -> dict[str, meta_graph_pb2.SignatureDef]:
    """The SignatureDefs of the `serve` meta graph of `path/saved_model.pb`."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{path} holds no meta graph with tag '{SERVE_TAG}'")


def version_directories(base_path: str) -> list[int]:
    """Integer-named subdirectories of `base_path` (TF Serving's versions), ascending."""
    try:
        entries = list(os.scandir(base_path))
    except FileNotFoundError:
        return []
    return sorted(int(e.name) for e in entries if e.is_dir() and e.name.isdigit())


class ServedModel:
    """A model name with its loaded versions, refreshed from its base path by `poll()`."""

    def __init__(self, config: ModelConfig, batching: BatchingParameters | None) -> None:
        self.config = config
        self._batching = batching
        self._servables: dict[int, Servable] = {}
        self._failed: dict[int, str] = {}
        self._loading: set[int] = set()
        self._lock = threading.Lock()

    def poll(self) -> None:
        """Loads the versions the policy selects on disk, then drops the others.

        New versions become available before old ones go (TF Serving's
        availability-preserving policy); if none of the selected versions loads, the
        versions served so far stay.
        """
        wanted = self.config.select(version_directories(self.config.base_path))
        loaded = dict(self._servables)
        for version in wanted:
            if version in loaded or version in self._failed:
                continue
            with self._lock:
                self._loading.add(version)
            path = os.path.join(self.config.base_path, str(version))
            try:
                loaded[version] = Servable(self.config.name, version, path, self._batching)
                logging.info("Loaded %s version %d from %s", self.config.name, version, path)
            except Exception as error:  # noqa: BLE001 - a broken version must not stop the server
                with self._lock:
                    self._failed[version] = f"{type(error).__name__}: {error}"
                logging.error("Failed to load %s version %d: %s", self.config.name, version, error)
            finally:
                with self._lock:
                    self._loading.discard(version)
        serving = {v: s for v, s in loaded.items() if v in wanted} or dict(self._servables)
        with self._lock:
            dropped = [s for v, s in self._servables.items() if v not in serving]
            self._servables = serving
        for servable in dropped:
            servable.close()
            logging.info("Unloaded %s version %d", self.config.name, servable.version)

    def close(self) -> None:
        with self._lock:
            servables, self._servables = list(self._servables.values()), {}
        for servable in servables:
            servable.close()

    def resolve(self, version: int | None = None, label: str | None = None) -> Servable:
        """The servable of a request: a version, a version label, or the highest version."""
        name = self.config.name
        if label is not None:
            if label not in self.config.labels:
                raise ServingError("NOT_FOUND", f"Unrecognized servable version label: {label}")
            version = self.config.labels[label]
        with self._lock:
            servables = dict(self._servables)
        if version is None:
            if not servables:
                raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({name})")
            return servables[max(servables)]
        if version not in servables:
            raise ServingError("NOT_FOUND", f"Servable not found for request: Specific({name}, {version})")
        return servables[version]

    def status(self, version: int | None = None, label: str | None = None) -> dict[str, Any]:
        """TF Serving's `GET /v1/models/NAME[/versions/V]` answer."""
        if label is not None:
            version = self.resolve(label=label).version
        with self._lock:
            states = {v: ("AVAILABLE", "OK", "") for v in self._servables}
            states.update({v: ("LOADING", "OK", "") for v in self._loading})
            states.update({v: ("END", "UNKNOWN", message) for v, message in self._failed.items()})
        if version is not None:
            if version not in states:
                raise ServingError("NOT_FOUND", f"Could not find version {version} of model {self.config.name}")
            states = {version: states[version]}
        if not states:
            raise ServingError("NOT_FOUND", f"Could not find any versions of model {self.config.name}")
        return {
            "model_version_status": [
                {"version": str(v), "state": state, "status": {"error_code": code, "error_message": message}}
                for v, (state, code, message) in sorted(states.items(), reverse=True)
            ]
        }


class ModelServer:
    """The serving core behind the REST and gRPC front ends.

    Args:
        models: the served models.
        batching: server-side batching parameters, or `None` (each request runs alone).
        num_threads: threads that parse requests and run unbatched models.
        poll_seconds: seconds between scans of the base paths for new versions
            (TF Serving's `--file_system_poll_wait_seconds`); 0 loads once.
        config_file: the `--model_config_file` to re-read every `config_poll_seconds`
            (0: never), adding and removing models.
        config_poll_seconds: see `config_file`.
        max_batch_size: the most rows a request may hold when batching is off.

    Example:

    >>> core = ModelServer([ModelConfig("digits", "/tmp/export/digits")])
    >>> with BackgroundServer(core) as server:
    ...     requests.get(f"{server.url}/v1/models/digits").json()
    """

    def __init__(
        self,
        models: Sequence[ModelConfig],
        *,
        batching: BatchingParameters | None = None,
        num_threads: int = 8,
        poll_seconds: float = 1.0,
        config_file: str | None = None,
        config_poll_seconds: float = 0.0,
        max_batch_size: int = 1024,
    ) -> None:
        self.batching = batching
        self.max_batch_size = batching.max_batch_size if batching else max_batch_size
        self.executor = concurrent.futures.ThreadPoolExecutor(num_threads, thread_name_prefix="serving")
        self._models = {config.name: ServedModel(config, batching) for config in models}
        self._poll_seconds = poll_seconds
        self._config_file = config_file
        self._config_poll_seconds = config_poll_seconds
        self._config_mtime = os.path.getmtime(config_file) if config_file else None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> ModelServer:
        """Loads the current versions of every model, then polls in the background."""
        for model in list(self._models.values()):
            model.poll()
        if self._poll_seconds > 0 or self._config_poll_seconds > 0:
            self._poller = threading.Thread(target=self._poll_loop, name="version-poller", daemon=True)
            self._poller.start()
        return self

    def stop(self) -> None:
        """Stops polling, waits for running requests and unloads every model."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        self.executor.shutdown(wait=True)
        for model in list(self._models.values()):
            model.close()

    def _poll_loop(self) -> None:
        intervals = [s for s in (self._poll_seconds, self._config_poll_seconds) if s > 0]
        while not self._stop.wait(min(intervals)):
            try:
                self._reload_config()
                for model in list(self._models.values()):
                    model.poll()
            except Exception as error:  # noqa: BLE001 - keep serving what is loaded
                logging.error("Polling failed: %s", error)

    def _reload_config(self) -> None:
        if not (self._config_file and self._config_poll_seconds > 0):
            return
        mtime = os.path.getmtime(self._config_file)
        if mtime == self._config_mtime:
            return
        self._config_mtime = mtime
        configs = {config.name: config for config in read_model_config_file(self._config_file)}
        models = {name: m for name, m in self._models.items() if name in configs and m.config == configs[name]}
        for name, config in configs.items():
            models.setdefault(name, ServedModel(config, self.batching))
        removed = [m for name, m in self._models.items() if models.get(name) is not m]
        self._models = models
        for model in removed:
            model.close()
        logging.info("Model config reloaded: %s", sorted(models))

    # -- requests ------------------------------------------------------------------------------

    @property
    def model_names(self) -> list[str]:
        return sorted(self._models)

    def model(self, name: str, *, for_status: bool = False) -> ServedModel:
        if name not in self._models:
            message = (
                f"Could not find any versions of model {name}"
                if for_status
                else f"Servable not found for request: Latest({name})"
            )
            raise ServingError("NOT_FOUND", message)
        return self._models[name]

    def prepare(
        self, name: str, version: int | None, label: str | None, body: bytes
    ) -> tuple[Servable, Signature, dict[str, np.ndarray], int, bool]:
        """Parses and checks a REST `:predict` body (runs on a worker thread)."""
        servable = self.model(name).resolve(version, label)
        try:
            request = json.loads(body) if body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _invalid(f"JSON Parse error: {error}") from None
        if request is None:
            raise _invalid("JSON Parse error: The document is empty")
        signature_name = request.get("signature_name", "") if isinstance(request, dict) else ""
        if not isinstance(signature_name, str):
            raise _invalid("'signature_name' key must be a string value.")
        signature = servable.signature(signature_name)
        tensors, row_format = tensors_from_json(request, signature.inputs)
        rows = self.check_batch(signature, tensors)
        return servable, signature, tensors, rows, row_format

    def check_batch(self, signature: Signature, tensors: Mapping[str, np.ndarray]) -> int:
        """Checks a request against its signature and the size limits; returns its rows."""
        batches = signature.check(tensors)
        rows = max(batches, default=1)
        if self.batching is not None and len(batches) > 1:
            raise _invalid(f"Batching session requires inputs to have the same 0th dimension; received {batches}")
        if rows > self.max_batch_size and self.batching is None:
            raise _invalid(f"Batch size {rows} exceeds the server's limit of {self.max_batch_size} rows per request")
        return rows


# ----------------------------------------------------------------------------------------
# REST front end (Starlette on uvicorn)
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RestLimits:
    """Bounds of the REST front end.

    Attributes:
        max_request_bytes: the largest request body; larger ones get 413.
        max_inflight_requests: concurrent requests beyond this get 503.
        timeout_seconds: a request not answered by then gets 504 (TF Serving's
            `--rest_api_timeout_in_ms`).
    """

    max_request_bytes: int = 16 * 2**20
    max_inflight_requests: int = 256
    timeout_seconds: float = 30.0


def _json_response(content: Any, status: int = 200) -> Response:
    return Response(json.dumps(content, separators=(",", ":")), status_code=status, media_type="application/json")


def _error_response(error: ServingError) -> Response:
    return _json_response({"error": error.message}, error.http_status)


def rest_app(core: ModelServer, limits: RestLimits = RestLimits()) -> Starlette:
    """The Starlette application of TF Serving's REST API over `core`."""
    inflight = 0

    async def read_body(request: Request) -> bytes:
        """The body, or 413 past `max_request_bytes` (read to the end but not kept, so that
        the client gets the answer instead of a reset connection; bounded by the deadline)."""
        body, size = bytearray(), 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limits.max_request_bytes:
                body += chunk
        if size > limits.max_request_bytes:
            raise ServingError(
                "RESOURCE_EXHAUSTED",
                f"Request body of {size} bytes exceeds the limit of {limits.max_request_bytes} bytes",
                http_status=413,
            )
        return bytes(body)

    async def in_thread(function: Callable, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(core.executor, function, *args)

    async def predict(match: re.Match, request: Request) -> Response:
        name, version, label, method = match.groups()
        if method.lower() != "predict":
            raise ServingError("UNIMPLEMENTED", f"The embedded server implements :predict only; received :{method}")
        body = await read_body(request)
        servable, signature, tensors, rows, row_format = await in_thread(
            core.prepare, name, None if version is None else int(version), label, body
        )
        future = servable.submit(signature, tensors, rows, core.executor)
        outputs = await asyncio.wrap_future(future)
        return _json_response(await in_thread(json_from_tensors, outputs, row_format))

    async def status(match: re.Match) -> Response:
        name, version, label, metadata = match.groups()
        if name is None:
            raise _invalid("Missing model name in request.")
        version = None if version is None else int(version)
        if metadata:
            return _json_response(core.model(name).resolve(version, label).metadata())
        return _json_response(core.model(name, for_status=True).status(version, label))

    async def endpoint(request: Request) -> Response:
        nonlocal inflight
        if inflight >= limits.max_inflight_requests:
            return _error_response(ServingError("UNAVAILABLE", "Too many requests in flight; retry later"))
        inflight += 1
        try:
            path, method = request.url.path, request.method
            if method == "POST" and (match := _PREDICT_PATH.fullmatch(path)):
                return await asyncio.wait_for(predict(match, request), limits.timeout_seconds)
            if method == "GET" and (match := _STATUS_PATH.fullmatch(path)):
                return await status(match)
            raise _invalid(f"Malformed request: {method} {path}")
        except ServingError as error:
            return _error_response(error)
        except TimeoutError:
            return _error_response(ServingError("DEADLINE_EXCEEDED", "Deadline Exceeded"))
        except Exception as error:  # noqa: BLE001 - answered as TF Serving's INTERNAL error
            logging.exception("Request failed")
            return _error_response(ServingError("INTERNAL", f"{type(error).__name__}: {error}"))
        finally:
            inflight -= 1

    return Starlette(routes=[Route("/v1/{path:path}", endpoint, methods=["GET", "POST"])])


# ----------------------------------------------------------------------------------------
# gRPC front end (TF Serving's PredictionService and ModelService)
# ----------------------------------------------------------------------------------------


def grpc_server(core: ModelServer, address: str, *, max_workers: int = 16, max_message_bytes: int = 16 * 2**20):
    """A started `grpc.Server` with TF Serving's Predict, GetModelMetadata and GetModelStatus.

    Args:
        core: the serving core.
        address: `host:port` to bind (port 0 picks a free one; see `server.bound_port`).
        max_workers: threads answering RPCs.
        max_message_bytes: the largest request and response message.

    Returns:
        The running server; its bound port is in `server.bound_port`.
    """
    import grpc
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    def answer(context: Any, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except ServingError as error:
            context.abort(grpc.StatusCode[error.code], error.message)

    def resolve(spec: Any, for_status: bool = False) -> tuple[ServedModel, int | None, str | None]:
        version = spec.version.value if spec.HasField("version") else None
        label = spec.version_label or None
        return core.model(spec.name, for_status=for_status), version, label

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request: Any, context: Any) -> Any:
            def run() -> Any:
                model, version, label = resolve(request.model_spec)
                servable = model.resolve(version, label)
                signature = servable.signature(request.model_spec.signature_name)
                tensors = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
                rows = core.check_batch(signature, tensors)
                outputs = servable.submit(signature, tensors, rows, core.executor).result()
                wanted = list(request.output_filter) or sorted(outputs)
                unknown = [name for name in wanted if name not in outputs]
                if unknown:
                    raise _invalid(f"output tensor alias not found in signature: {unknown[0]}")
                response = predict_pb2.PredictResponse()
                response.model_spec.name = servable.name
                response.model_spec.version.value = servable.version
                response.model_spec.signature_name = signature.name
                for name in wanted:
                    response.outputs[name].CopyFrom(tf.make_tensor_proto(outputs[name]))
                return response

            return answer(context, run)

        def GetModelMetadata(self, request: Any, context: Any) -> Any:
            def run() -> Any:
                unsupported = [field for field in request.metadata_field if field != "signature_def"]
                if unsupported or not request.metadata_field:
                    raise _invalid(f"Metadata field {unsupported[0] if unsupported else '(none)'} is not supported")
                model, version, label = resolve(request.model_spec)
                servable = model.resolve(version, label)
                signature_map = get_model_metadata_pb2.SignatureDefMap()
                for key, signature_def in servable.signature_defs.items():
                    signature_map.signature_def[key].CopyFrom(signature_def)
                response = get_model_metadata_pb2.GetModelMetadataResponse()
                response.model_spec.name = servable.name
                response.model_spec.version.value = servable.version
                response.metadata["signature_def"].Pack(signature_map)
                return response

            return answer(context, run)

    class ModelService(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request: Any, context: Any) -> Any:
            def run() -> Any:
                model, version, label = resolve(request.model_spec, for_status=True)
                return json_format.ParseDict(
                    model.status(version, label), get_model_status_pb2.GetModelStatusResponse()
                )

            return answer(context, run)

    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="grpc"), options=options)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)
    server.bound_port = server.add_insecure_port(address)
    server.start()
    return server


# ----------------------------------------------------------------------------------------
# Running: in the background (tests, benchmarks, the main job) or as the main program
# ----------------------------------------------------------------------------------------


class BackgroundServer:
    """The REST and gRPC front ends of a core, run in background threads.

    A context manager: entering starts the core and the front ends and waits until they
    accept connections; leaving stops accepting, lets the requests in flight finish (up
    to `shutdown_grace_seconds`), then stops the core. The command line and the tests
    run the same code.

    Args:
        core: the serving core (started on entry, stopped on exit).
        host: interface to bind. Defaults to `"127.0.0.1"`.
        port: REST port (0 picks a free one), or `None` for no REST. Defaults to 0.
        grpc_port: gRPC port (0 picks a free one), or `None` for no gRPC. Defaults to `None`.
        limits: bounds of the REST front end (its `max_request_bytes` also bounds gRPC
            messages). Defaults to `RestLimits()`.
        shutdown_grace_seconds: how long leaving waits for requests in flight.
            Defaults to 10.

    Attributes:
        url: `http://host:port` of the REST API, or `None`.
        grpc_target: `host:port` of the gRPC API, or `None`.
    """

    def __init__(
        self,
        core: ModelServer,
        *,
        host: str = "127.0.0.1",
        port: int | None = 0,
        grpc_port: int | None = None,
        limits: RestLimits = RestLimits(),
        shutdown_grace_seconds: float = 10.0,
    ) -> None:
        self.core = core
        self._host, self._port, self._grpc_port = host, port, grpc_port
        self._limits, self._grace = limits, shutdown_grace_seconds
        self._rest: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._grpc = None
        self.url: str | None = None
        self.grpc_target: str | None = None

    def __enter__(self) -> Self:
        self.core.start()
        if self._grpc_port is not None:
            self._grpc = grpc_server(
                self.core, f"{self._host}:{self._grpc_port}", max_message_bytes=self._limits.max_request_bytes
            )
            self.grpc_target = f"{self._host}:{self._grpc.bound_port}"
        if self._port is not None:
            config = uvicorn.Config(
                rest_app(self.core, self._limits), host=self._host, port=self._port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=self._grace, lifespan="off",
            )  # fmt: skip
            self._rest = uvicorn.Server(config)
            self._thread = threading.Thread(target=self._rest.run, name="rest-server", daemon=True)
            self._thread.start()  # not the main thread: uvicorn leaves the signal handlers alone
            while not self._rest.started:
                if not self._thread.is_alive():
                    self.__exit__()
                    raise RuntimeError(f"The REST server could not listen on {self._host}:{self._port}")
                time.sleep(0.01)
            self.url = f"http://{self._host}:{self._rest.servers[0].sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._rest is not None:
            self._rest.should_exit = True  # stop accepting, drain in-flight requests
            self._thread.join()
        if self._grpc is not None:
            self._grpc.stop(grace=self._grace).wait()
        self.core.stop()


def define_flags() -> None:
    """Defines TF Serving's command-line flags (and the bounds); called when run as a program."""
    flags.DEFINE_string("model_name", "default", "Name of the model served by --model_base_path.")
    flags.DEFINE_string("model_base_path", "", "Directory of the model's integer version subdirectories.")
    flags.DEFINE_string(
        "model_config_file", "", "TF Serving ModelServerConfig text file serving several models (instead of --model_*)."
    )
    flags.DEFINE_integer(
        "model_config_file_poll_wait_seconds", 0, "Seconds between re-reads of --model_config_file (0: never)."
    )
    flags.DEFINE_float("file_system_poll_wait_seconds", 1.0, "Seconds between scans for new versions (0: once).")
    flags.DEFINE_integer("port", 0, "gRPC port (TF Serving's PredictionService); 0 disables gRPC.")
    flags.DEFINE_integer("rest_api_port", 8501, "REST port; 0 disables REST.")
    flags.DEFINE_string("host", "127.0.0.1", "Interface to bind (TF Serving binds all: 0.0.0.0).")
    flags.DEFINE_integer(
        "rest_api_num_threads",
        max(8, 4 * (os.cpu_count() or 1)),
        "Threads parsing requests and running unbatched models.",
    )
    flags.DEFINE_integer("rest_api_timeout_in_ms", 30000, "Deadline of a REST request.")
    flags.DEFINE_bool("enable_batching", False, "Merge concurrent requests into batches per signature.")
    flags.DEFINE_string(
        "batching_parameters_file", "", "TF Serving BatchingParameters text file (default: max_batch_size 32, 1 ms)."
    )
    flags.DEFINE_integer("max_request_bytes", 16 * 2**20, "Largest request body / gRPC message in bytes.")
    flags.DEFINE_integer("max_request_batch_size", 1024, "Most rows per request when batching is off.")
    flags.DEFINE_integer("max_inflight_requests", 256, "Concurrent REST requests before 503.")
    flags.DEFINE_float("shutdown_grace_seconds", 10.0, "How long shutdown waits for requests in flight.")
    flags.DEFINE_integer("tensorflow_intra_op_parallelism", 0, "TensorFlow intra-op threads (0: default).")
    flags.DEFINE_integer("tensorflow_inter_op_parallelism", 0, "TensorFlow inter-op threads (0: default).")


def _models_from_flags() -> list[ModelConfig]:
    if flags.FLAGS.model_config_file:
        if flags.FLAGS.model_base_path:
            raise app.UsageError("Pass either --model_config_file or --model_base_path, not both.")
        return read_model_config_file(flags.FLAGS.model_config_file)
    if not flags.FLAGS.model_base_path:
        raise app.UsageError("Pass --model_base_path (with --model_name) or --model_config_file.")
    return [ModelConfig(flags.FLAGS.model_name, os.path.abspath(flags.FLAGS.model_base_path))]


def _serve_forever(core: ModelServer) -> None:
    """Runs the configured front ends until SIGINT / SIGTERM, then shuts down gracefully."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    limits = RestLimits(
        flags.FLAGS.max_request_bytes, flags.FLAGS.max_inflight_requests, flags.FLAGS.rest_api_timeout_in_ms / 1000
    )
    with BackgroundServer(
        core,
        host=flags.FLAGS.host,
        port=flags.FLAGS.rest_api_port or None,
        grpc_port=flags.FLAGS.port or None,
        limits=limits,
        shutdown_grace_seconds=flags.FLAGS.shutdown_grace_seconds,
    ) as server:
        for name in core.model_names:
            model = core.model(name)
            try:
                states = model.status()["model_version_status"]
            except ServingError:
                states = []
            versions = [s["version"] for s in states if s["state"] == "AVAILABLE"]
            logging.info("Model %s from %s: versions %s", name, model.config.base_path, versions or "none yet")
        logging.info("REST API at %s, gRPC API at %s", server.url, server.grpc_target)
        while not stop.wait(1.0):
            pass
        logging.info("Shutting down: finishing the requests in flight")
    logging.info("Server stopped")


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    if not (flags.FLAGS.rest_api_port or flags.FLAGS.port):
        raise app.UsageError("Enable at least one API: --rest_api_port or --port.")
    if flags.FLAGS.tensorflow_intra_op_parallelism:
        tf.config.threading.set_intra_op_parallelism_threads(flags.FLAGS.tensorflow_intra_op_parallelism)
    if flags.FLAGS.tensorflow_inter_op_parallelism:
        tf.config.threading.set_inter_op_parallelism_threads(flags.FLAGS.tensorflow_inter_op_parallelism)
    batching = None
    if flags.FLAGS.enable_batching:
        batching = BatchingParameters()
        if flags.FLAGS.batching_parameters_file:
            with open(flags.FLAGS.batching_parameters_file, encoding="utf-8") as f:
                batching = BatchingParameters.parse(f.read())
    core = ModelServer(
        _models_from_flags(),
        batching=batching,
        num_threads=flags.FLAGS.rest_api_num_threads,
        poll_seconds=flags.FLAGS.file_system_poll_wait_seconds,
        config_file=flags.FLAGS.model_config_file or None,
        config_poll_seconds=flags.FLAGS.model_config_file_poll_wait_seconds,
        max_batch_size=flags.FLAGS.max_request_batch_size,
    )
    _serve_forever(core)


if __name__ == "__main__":
    define_flags()
    app.run(main)
