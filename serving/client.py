r"""Clients of TensorFlow Serving's REST and gRPC APIs (and of `serving.server`), returning numpy.

    client = Client("http://127.0.0.1:8501", "digits")   # or Client("grpc://127.0.0.1:8500", ...)
    client.predict(images)          # {"logits", "probabilities", "classes"}
    client.explain(images, "ig")    # {"attributions", "targets", "convergence_delta"}

Both clients have the same methods and return `{output name: numpy array}` with the
signature's dtypes (the REST client reads them from the model metadata, since JSON has
none). `explain` sends `targets=-1` (explain the predicted class) when none are given: a
TF Serving signature has no optional inputs. The REST client needs only `requests` and
numpy; the gRPC client needs `tensorflow-serving-api` (which imports TensorFlow).

Command line: send an image file (PNG, JPEG, ...) or a `.npy` batch, print the predicted
classes and write the heatmap PNG of an explanation:

    python -m serving.client --server=http://127.0.0.1:8501 --model_name=digits \
        --input=digits.npy --method=ig --output=/tmp/heatmap.png
"""

from __future__ import annotations

import abc
import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import requests
from absl import app, flags

DEFAULT_SIGNATURE = "serving_default"
EXPLAIN_PREFIX = "explain_"
_NUMPY_DTYPES = {
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_HALF": np.float16,
    "DT_INT8": np.int8,
    "DT_INT16": np.int16,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_BOOL": np.bool_,
}


class ServingError(RuntimeError):
    """An error answered by the server.

    Attributes:
        status: the HTTP status (REST) or the gRPC status code name.
        message: the server's message (TF Serving's `{"error": ...}`).
    """

    def __init__(self, status: int | str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class _Client(abc.ABC):
    """The methods both clients share; subclasses implement `status`, `metadata`, `run`."""

    def __init__(self, model_name: str, version: int | None, label: str | None) -> None:
        if not model_name or not isinstance(model_name, str):
            raise ValueError(
                f"Invalid value for argument `model_name`. Expected a non-empty str. Received: {model_name!r}"
            )
        if version is not None and label is not None:
            raise ValueError(f"Pass `version` or `label`, not both. Received: version={version}, label={label!r}")
        self.model_name, self.version, self.label = model_name, version, label

    @abc.abstractmethod
    def status(self) -> dict[str, Any]:
        """The model's version status, as TF Serving's `GET /v1/models/NAME` JSON."""

    @abc.abstractmethod
    def metadata(self) -> dict[str, Any]:
        """The model's signature defs, as TF Serving's `GET /v1/models/NAME/metadata` JSON."""

    @abc.abstractmethod
    def run(self, signature_name: str, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Runs a signature on named input arrays; returns its outputs as numpy arrays."""

    def predict(self, images: Any) -> dict[str, np.ndarray]:
        """`serving_default` of a `tfxai.export` classifier: `logits`, `probabilities`, `classes`.

        Args:
            images: float array `[B, *input_shape]`.
        """
        return self.run(DEFAULT_SIGNATURE, {"images": np.asarray(images, np.float32)})

    def explain(self, images: Any, method: str = "ig", targets: Any = None) -> dict[str, np.ndarray]:
        """`explain_<method>` of a `tfxai.export` classifier.

        Args:
            images: float array `[B, *input_shape]`.
            method: the explainer name (`saliency`, `gradient_input`, `ig`, `smoothgrad`,
                `blur_ig`, `agi`). Defaults to `"ig"`.
            targets: classes to explain: `None` (the predicted classes), an int for all
                images or ints `[B]`; -1 stands for the predicted class. Defaults to `None`.

        Returns:
            `attributions` float32 `[B, *input_shape]`, `targets` int32 `[B]` (resolved)
            and the method's extras.
        """
        images = np.asarray(images, np.float32)
        targets = np.broadcast_to(np.asarray(-1 if targets is None else targets, np.int32), images.shape[:1])
        return self.run(EXPLAIN_PREFIX + method, {"images": images, "targets": np.ascontiguousarray(targets)})

    def input_shape(self) -> tuple[int, ...]:
        """The `images` shape of `serving_default` without the batch axis, from the metadata."""
        signature = self.metadata()["metadata"]["signature_def"]["signature_def"][DEFAULT_SIGNATURE]
        dims = signature["inputs"]["images"]["tensor_shape"]["dim"]
        return tuple(int(d["size"]) for d in dims[1:])


class RestClient(_Client):
    """TF Serving REST client.

    Args:
        url: the server, e.g. `"http://127.0.0.1:8501"`.
        model_name: the served model's name.
        version: a version to address; `None` serves the latest. Defaults to `None`.
        label: a version label to address instead of `version`. Defaults to `None`.
        timeout: seconds per request. Defaults to 60.
        row_format: send `{"instances": ...}` rows instead of columnar `{"inputs": ...}`.
            Defaults to `False`.
        session: a `requests.Session` to reuse connections (one per thread). Defaults to
            a new session.
    """

    def __init__(
        self,
        url: str,
        model_name: str,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float = 60.0,
        row_format: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(model_name, version, label)
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.row_format = row_format
        self._session = session or requests.Session()
        self._output_dtypes: dict[str, dict[str, Any]] | None = None

    @property
    def model_url(self) -> str:
        """`URL/v1/models/NAME[/versions/V | /labels/L]`."""
        suffix = f"/versions/{self.version}" if self.version is not None else ""
        suffix = f"/labels/{self.label}" if self.label is not None else suffix
        return f"{self.url}/v1/models/{self.model_name}{suffix}"

    def _request(self, method: str, url: str, body: bytes | None = None) -> Any:
        headers = {"Content-Type": "application/json"} if body is not None else None
        response = self._session.request(method, url, data=body, headers=headers, timeout=self.timeout)
        try:
            content = response.json()
        except ValueError:
            content = {"error": response.text}
        if response.status_code != 200:
            raise ServingError(
                response.status_code,
                content.get("error", response.text) if isinstance(content, dict) else response.text,
            )
        return content

    def status(self) -> dict[str, Any]:
        return self._request("GET", self.model_url)

    def metadata(self) -> dict[str, Any]:
        return self._request("GET", f"{self.model_url}/metadata")

    def run(self, signature_name: str, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        arrays = {name: np.asarray(value) for name, value in inputs.items()}
        request: dict[str, Any] = {"signature_name": signature_name}
        if self.row_format:
            rows = {name: array.tolist() for name, array in arrays.items()}
            count = len(next(iter(arrays.values())))
            request["instances"] = [{name: rows[name][i] for name in rows} for i in range(count)]
        else:
            request["inputs"] = {name: array.tolist() for name, array in arrays.items()}
        answer = self._request("POST", f"{self.model_url}:predict", json.dumps(request).encode())
        dtypes = self._dtypes(signature_name)
        if "outputs" in answer:
            outputs = answer["outputs"]
            outputs = outputs if isinstance(outputs, dict) else {next(iter(dtypes)): outputs}
        else:
            predictions = answer["predictions"]
            if predictions and isinstance(predictions[0], dict):
                outputs = {name: [row[name] for row in predictions] for name in predictions[0]}
            else:
                outputs = {next(iter(dtypes)): predictions}
        return {name: np.asarray(value, dtype=dtypes.get(name)) for name, value in outputs.items()}

    def _dtypes(self, signature_name: str) -> dict[str, Any]:
        """Output dtypes of a signature (JSON carries none), read once from the metadata."""
        if self._output_dtypes is None:
            signatures = self.metadata()["metadata"]["signature_def"]["signature_def"]
            self._output_dtypes = {
                key: {name: _NUMPY_DTYPES.get(info["dtype"]) for name, info in sorted(sig["outputs"].items())}
                for key, sig in signatures.items()
            }
        return self._output_dtypes.get(signature_name, {})


class GrpcClient(_Client):
    """TF Serving gRPC client (`PredictionService`, `ModelService`).

    Args:
        target: the server, `"host:port"` (TF Serving's `--port`, 8500 by default).
        model_name: the served model's name.
        version: a version to address; `None` serves the latest. Defaults to `None`.
        label: a version label to address instead of `version`. Defaults to `None`.
        timeout: seconds per call. Defaults to 60.
        max_message_bytes: the largest message sent or received. Defaults to 64 MiB.
    """

    def __init__(
        self,
        target: str,
        model_name: str,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float = 60.0,
        max_message_bytes: int = 64 * 2**20,
    ) -> None:
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        super().__init__(model_name, version, label)
        self.target, self.timeout = target, timeout
        options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        self._channel = grpc.insecure_channel(target, options=options)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def _spec(self, spec: Any, signature_name: str = "") -> None:
        spec.name = self.model_name
        if self.version is not None:
            spec.version.value = self.version
        if self.label is not None:
            spec.version_label = self.label
        if signature_name:
            spec.signature_name = signature_name

    def _call(self, method: Any, request: Any) -> Any:
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(error.code().name, error.details()) from None

    def status(self) -> dict[str, Any]:
        from google.protobuf import json_format
        from tensorflow_serving.apis import get_model_status_pb2

        request = get_model_status_pb2.GetModelStatusRequest()
        self._spec(request.model_spec)
        response = self._call(self._models.GetModelStatus, request)
        return json_format.MessageToDict(response, always_print_fields_with_no_presence=True)

    def metadata(self) -> dict[str, Any]:
        from google.protobuf import json_format
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(request.model_spec)
        response = self._call(self._predictions.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        options = {"preserving_proto_field_name": True, "always_print_fields_with_no_presence": True}
        return {
            "model_spec": json_format.MessageToDict(response.model_spec, **options),
            "metadata": {"signature_def": json_format.MessageToDict(signature_map, **options)},
        }

    def run(self, signature_name: str, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, signature_name)
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
        response = self._call(self._predictions.Predict, request)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def Client(server: str, model_name: str, **kwargs: Any) -> RestClient | GrpcClient:
    """A REST client for `http(s)://host:port`, a gRPC client for `grpc://host:port`.

    Args:
        server: the server address with its scheme.
        model_name: the served model's name.
        **kwargs: passed to `RestClient` or `GrpcClient` (`version`, `label`, `timeout`, ...).
    """
    if server.startswith(("http://", "https://")):
        return RestClient(server, model_name, **kwargs)
    if server.startswith("grpc://"):
        return GrpcClient(server.removeprefix("grpc://"), model_name, **kwargs)
    raise ValueError(
        f"Invalid value for argument `server`. Expected http://host:port or grpc://host:port. Received: {server!r}"
    )


# ----------------------------------------------------------------------------------------
# Command line: image or .npy in, predictions printed, heatmap PNG out
# ----------------------------------------------------------------------------------------


def load_images(path: str, input_shape: Sequence[int]) -> np.ndarray:
    """A float32 batch `[B, *input_shape]` in [0, 1] from a `.npy` file or an image file.

    A `.npy` holds one example (`input_shape`) or a batch; an image file is converted to
    grey or RGB (by the channel count of `input_shape` `[H, W, C]`), resized to `H x W`
    and scaled from 0-255 to [0, 1].
    """
    if path.endswith(".npy"):
        array = np.load(path).astype(np.float32)
        return array[np.newaxis] if array.shape == tuple(input_shape) else array
    from PIL import Image

    height, width, channels = input_shape
    image = Image.open(path).convert("L" if channels == 1 else "RGB").resize((width, height))
    return (np.asarray(image, np.float32) / 255.0).reshape(1, height, width, channels)


def save_heatmaps(images: np.ndarray, attributions: np.ndarray, path: str, percentile: float = 99.0) -> None:
    """Writes one row per example: the image and its signed attribution heatmap.

    Attributions are summed over channels and clipped at the `percentile` of their
    absolute values (the percentile clipping of AGI Sec. 5.1), red positive, blue negative.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    count = len(images)
    figure, axes = plt.subplots(count, 2, figsize=(4, 2 * count), squeeze=False)
    for row, (image, attribution) in enumerate(zip(images, attributions, strict=True)):
        heat = attribution.sum(axis=-1)
        bound = float(np.percentile(np.abs(heat), percentile)) or 1.0
        axes[row, 0].imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray")
        axes[row, 1].imshow(np.clip(heat, -bound, bound), cmap="bwr", vmin=-bound, vmax=bound)
        for axis in axes[row]:
            axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def define_flags() -> None:
    """Defines the command-line flags; called when run as a program."""
    flags.DEFINE_string("server", "http://127.0.0.1:8501", "http://host:port (REST) or grpc://host:port.")
    flags.DEFINE_string("model_name", None, "Served model name.")
    flags.DEFINE_integer("version", None, "Model version (default: the latest).")
    flags.DEFINE_string("input", None, "Image file or .npy array of one example or a batch.")
    flags.DEFINE_string("method", "ig", "Explainer signature explain_<method>.")
    flags.DEFINE_integer("targets", -1, "Class to explain (-1: the predicted class).")
    flags.DEFINE_string("output", "heatmap.png", "Heatmap PNG to write.")
    flags.mark_flags_as_required(["model_name", "input"])


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}")
    client = Client(flags.FLAGS.server, flags.FLAGS.model_name, version=flags.FLAGS.version)
    images = load_images(flags.FLAGS.input, client.input_shape())
    predictions = client.predict(images)
    explanation = client.explain(images, flags.FLAGS.method, flags.FLAGS.targets)
    for index, (cls, probabilities) in enumerate(zip(predictions["classes"], predictions["probabilities"])):
        print(
            f"example {index}: class {int(cls)} (p={float(probabilities[cls]):.3f}), "
            f"explained class {int(explanation['targets'][index])}"
        )
    pathlib.Path(flags.FLAGS.output).parent.mkdir(parents=True, exist_ok=True)
    save_heatmaps(images, explanation["attributions"], flags.FLAGS.output)
    print(f"heatmap: {flags.FLAGS.output}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
