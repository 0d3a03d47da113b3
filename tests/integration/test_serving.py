"""The embedded TF-Serving-compatible server and its clients, on 127.0.0.1 and free ports:
REST conformance (status, metadata, row and columnar predict, TF Serving's error JSON), limits,
concurrency with and without server-side batching, new versions, gRPC, the command lines."""

from __future__ import annotations

import ast
import concurrent.futures
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("tensorflow_serving.apis")
requests = pytest.importorskip("requests")

from serving import client as client_lib
from serving import server as server_lib
from tfxai import export, models
from tfxai.attribution import AGI, IntegratedGradients, Saliency

REPO = pathlib.Path(__file__).resolve().parents[2]
INPUT_SHAPE = (8, 8, 1)
MAX_BYTES = 256 * 1024
MAX_ROWS = 64
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def _model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return models.build("cnn2c", INPUT_SHAPE, 10, padding="same")


def _images(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (count, *INPUT_SHAPE)).astype(np.float32)


@pytest.fixture(scope="module")
def base_path(tmp_path_factory) -> pathlib.Path:
    """`digits/1` with serving_default, explain_saliency, explain_ig and explain_agi."""
    model = _model(0)
    base = tmp_path_factory.mktemp("models") / "digits"
    explainers = [Saliency(model), IntegratedGradients(model, steps=8), AGI(model, max_steps=5, num_false_classes=3)]
    export.export_classifier(model, base, explainers)
    return base


@pytest.fixture(scope="module")
def signatures(base_path):
    """The served SavedModel's signatures called in-process (the reference answers)."""
    return tf.saved_model.load(str(base_path / "1")).signatures


def _reference(signatures, key: str, images: np.ndarray, targets=None) -> dict[str, np.ndarray]:
    feed = {"images": tf.constant(images)}
    if key != "serving_default":
        feed["targets"] = tf.constant(np.full(len(images), -1, np.int32) if targets is None else targets, tf.int32)
    return {name: value.numpy() for name, value in signatures[key](**feed).items()}


def _assert_equal_outputs(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        got = np.asarray(actual[name])
        if value.dtype.kind == "f":
            np.testing.assert_allclose(got, value, **TOLERANCE, err_msg=name)
        else:
            np.testing.assert_array_equal(got, value, err_msg=name)


@pytest.fixture(scope="module")
def server(base_path, tmp_path_factory):
    """REST + gRPC over `digits` (with a version label) and `pickup` (for new versions)."""
    pickup = tmp_path_factory.mktemp("models") / "pickup"
    export.export_classifier(_model(1), pickup, [])
    configs = [
        server_lib.ModelConfig("digits", str(base_path), labels={"stable": 1}),
        server_lib.ModelConfig("pickup", str(pickup)),
    ]
    core = server_lib.ModelServer(configs, poll_seconds=0.2, max_batch_size=MAX_ROWS, num_threads=8)
    limits = server_lib.RestLimits(max_request_bytes=MAX_BYTES)
    with server_lib.BackgroundServer(core, grpc_port=0, limits=limits) as running:
        running.pickup_path = pickup
        yield running


@pytest.fixture(scope="module")
def batching_server(base_path):
    batching = server_lib.BatchingParameters(max_batch_size=16, batch_timeout_micros=5000, num_batch_threads=2)
    core = server_lib.ModelServer([server_lib.ModelConfig("digits", str(base_path))], batching=batching)
    with server_lib.BackgroundServer(core) as running:
        yield running


def _post(url: str, body) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url, data=data, headers={"Content-Type": "application/json"}, timeout=120)


class TestStatusAndMetadata:
    def test_status_is_tf_servings_json(self, server):
        response = requests.get(f"{server.url}/v1/models/digits", timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "model_version_status": [
                {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            ]
        }
        assert requests.get(f"{server.url}/v1/models/digits/versions/1", timeout=30).status_code == 200

    def test_metadata_is_tf_servings_json(self, server):
        metadata = requests.get(f"{server.url}/v1/models/digits/metadata", timeout=30).json()
        assert metadata["model_spec"] == {"name": "digits", "signature_name": "", "version": "1"}
        defs = metadata["metadata"]["signature_def"]["signature_def"]
        assert {"serving_default", "explain_saliency", "explain_ig", "explain_agi"} <= set(defs)
        ig = defs["explain_ig"]
        assert ig["method_name"] == "tensorflow/serving/predict"
        assert sorted(ig["inputs"]) == ["images", "targets"]
        images = ig["inputs"]["images"]
        assert images["dtype"] == "DT_FLOAT" and images["tensor_shape"]["unknown_rank"] is False
        assert [d["size"] for d in images["tensor_shape"]["dim"]] == ["-1", "8", "8", "1"]
        assert ig["inputs"]["targets"]["dtype"] == "DT_INT32"
        assert sorted(ig["outputs"]) == ["attributions", "convergence_delta", "targets"]
        assert defs["explain_agi"]["outputs"]["success"]["dtype"] == "DT_BOOL"
        by_version = requests.get(f"{server.url}/v1/models/digits/versions/1/metadata", timeout=30).json()
        assert by_version == metadata


class TestPredict:
    def test_columnar_serving_default(self, server, signatures):
        images = _images(3, 1)
        answer = _post(f"{server.url}/v1/models/digits:predict", {"inputs": images.tolist()}).json()
        assert sorted(answer["outputs"]) == ["classes", "logits", "probabilities"]
        _assert_equal_outputs(answer["outputs"], _reference(signatures, "serving_default", images))

    def test_row_serving_default(self, server, signatures):
        images = _images(3, 2)
        answer = _post(f"{server.url}/v1/models/digits:predict", {"instances": images.tolist()}).json()
        rows = answer["predictions"]
        assert len(rows) == 3 and sorted(rows[0]) == ["classes", "logits", "probabilities"]
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        _assert_equal_outputs(columns, _reference(signatures, "serving_default", images))

    @pytest.mark.parametrize("key", ["explain_ig", "explain_agi", "explain_saliency"])
    def test_row_and_columnar_explanations(self, server, signatures, key):
        images = _images(2, 3)
        expected = _reference(signatures, key, images)
        instances = [{"images": image.tolist(), "targets": -1} for image in images]
        url = f"{server.url}/v1/models/digits:predict"
        rows = _post(url, {"signature_name": key, "instances": instances}).json()["predictions"]
        _assert_equal_outputs({name: [row[name] for row in rows] for name in rows[0]}, expected)
        inputs = {"images": images.tolist(), "targets": [-1, -1]}
        _assert_equal_outputs(_post(url, {"signature_name": key, "inputs": inputs}).json()["outputs"], expected)

    def test_minus_one_is_the_predicted_class(self, server):
        client = client_lib.RestClient(server.url, "digits")
        images = _images(4, 4)
        predicted = client.explain(images, "ig")
        np.testing.assert_array_equal(predicted["targets"], client.predict(images)["classes"])
        explicit = client.explain(images, "ig", targets=[3, 3, 3, 3])
        np.testing.assert_array_equal(explicit["targets"], [3, 3, 3, 3])

    def test_version_and_label_urls(self, server):
        body = {"inputs": _images(1, 5).tolist()}
        for path in ("/versions/1", "/labels/stable", ""):
            assert _post(f"{server.url}/v1/models/digits{path}:predict", body).status_code == 200


# TF Serving's error answers: (method, path, body, HTTP status, message excerpt).
IMAGE = np.full(INPUT_SHAPE, 0.5).tolist()
ERRORS = [
    ("POST", "/v1/models/nope:predict", {"inputs": [IMAGE]}, 404, "Servable not found for request: Latest(nope)"),
    ("POST", "/v1/models/digits/versions/9:predict", {"inputs": [IMAGE]}, 404, "Specific(digits, 9)"),
    ("POST", "/v1/models/digits/labels/canary:predict", {"inputs": [IMAGE]}, 404, "version label: canary"),
    ("GET", "/v1/models/nope", None, 404, "Could not find any versions of model nope"),
    ("GET", "/v1/models/digits/versions/9", None, 404, "Could not find version 9 of model digits"),
    ("GET", "/v1/models", None, 400, "Missing model name in request."),
    ("POST", "/v1/models/digits:predict", {"signature_name": "nope", "inputs": [IMAGE]}, 400,
     'Serving signature name: "nope" not found in signature def'),
    ("POST", "/v1/models/digits:predict", b'{"inputs": [', 400, "JSON Parse error"),
    ("POST", "/v1/models/digits:predict", b"", 400, "JSON Parse error: The document is empty"),
    ("POST", "/v1/models/digits:predict", [IMAGE], 400, "Is not object"),
    ("POST", "/v1/models/digits:predict", {"signature_name": 3, "inputs": [IMAGE]}, 400, "'signature_name'"),
    ("POST", "/v1/models/digits:predict", {"input": [IMAGE]}, 400, "Missing 'inputs' or 'instances' key"),
    ("POST", "/v1/models/digits:predict", {"inputs": [IMAGE], "instances": [IMAGE]}, 400, "only one of"),
    ("POST", "/v1/models/digits:predict", {"instances": []}, 400, "No values in 'instances' array"),
    ("POST", "/v1/models/digits:predict", {"inputs": [[[0.5] * 4] * 4]}, 400, "expects shape [-1, 8, 8, 1]"),
    ("POST", "/v1/models/digits:predict", {"inputs": [[["a"] * 8] * 8]}, 400, "not of expected type float32"),
    ("POST", "/v1/models/digits:predict", {"inputs": [IMAGE, IMAGE[:4]]}, 400, "unequal lengths"),
    ("POST", "/v1/models/digits:predict", {"inputs": [[[[1e39]] * 8] * 8]}, 400, "without loss of precision"),
    ("POST", "/v1/models/digits:predict", b'{"inputs": [' + json.dumps(IMAGE).replace("0.5", "NaN").encode() + b"]}",
     400, "expected finite values"),
    ("POST", "/v1/models/digits:predict", {"inputs": [np.full(INPUT_SHAPE, 2.0).tolist()]}, 400,
     "expected values in [0.0, 1.0]"),
    ("POST", "/v1/models/digits:predict", {"signature_name": "explain_ig", "inputs": {"images": [IMAGE]}}, 400,
     "Missing named input: targets in 'inputs' object."),
    ("POST", "/v1/models/digits:predict", {"signature_name": "explain_ig", "inputs": {"images": [IMAGE],
     "targets": [1.5]}}, 400, "not of expected type int32"),
    ("POST", "/v1/models/digits:predict", {"signature_name": "explain_ig", "inputs": {"images": [IMAGE],
     "targets": [10]}}, 400, "expected classes in [0, 10) or -1"),
    ("POST", "/v1/models/digits:predict", {"signature_name": "explain_ig", "instances": [IMAGE]}, 400,
     "expecting list of objects"),
    ("POST", "/v1/models/digits:predict", {"signature_name": "explain_ig", "instances": [{"images": IMAGE}]}, 400,
     "must be equal to: images,targets"),
    ("POST", "/v1/models/digits:predict", {"inputs": [IMAGE] * (MAX_ROWS + 1)}, 400, "limit of 64 rows"),
    ("POST", "/v1/models/digits:classify", {"examples": []}, 501, ":predict only"),
    ("POST", "/v1/models/digits/metadata", {}, 400, "Malformed request: POST /v1/models/digits/metadata"),
]  # fmt: skip


class TestErrors:
    @pytest.mark.parametrize("method, path, body, status, message", ERRORS)
    def test_tf_serving_error_json(self, server, method, path, body, status, message):
        if method == "GET":
            response = requests.get(server.url + path, timeout=30)
        else:
            response = _post(server.url + path, body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        content = response.json()
        assert list(content) == ["error"] and message in content["error"], content

    def test_oversized_body_is_rejected_and_the_server_goes_on(self, server):
        body = {"inputs": np.full((600, *INPUT_SHAPE), 0.123456789).tolist()}  # about 500 kB > 256 KiB
        response = _post(f"{server.url}/v1/models/digits:predict", body)
        assert response.status_code == 413
        assert f"exceeds the limit of {MAX_BYTES} bytes" in response.json()["error"]
        assert _post(f"{server.url}/v1/models/digits:predict", {"inputs": [IMAGE]}).status_code == 200


class TestConcurrency:
    @staticmethod
    def _hammer(url: str, signatures, clients: int = 16, requests_each: int = 3) -> None:
        """`clients` threads, each with its own session, alternating predict and explain_ig."""
        jobs = [(c, r) for c in range(clients) for r in range(requests_each)]

        def one(job):
            seed = 100 * job[0] + job[1]
            images = _images(1 + seed % 3, seed)
            key = "serving_default" if seed % 2 else "explain_ig"
            body = {"signature_name": key, "inputs": {"images": images.tolist()}}
            if key == "explain_ig":
                body["inputs"]["targets"] = [-1] * len(images)
            response = _post(f"{url}/v1/models/digits:predict", body)
            return response.status_code, response.json(), _reference(signatures, key, images)

        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            for status, answer, expected in pool.map(one, jobs):
                assert status == 200, answer
                _assert_equal_outputs(answer["outputs"], expected)

    def test_concurrent_requests_get_their_own_answers(self, server, signatures):
        self._hammer(server.url, signatures)

    def test_server_side_batching_gives_the_same_answers(self, batching_server, signatures):
        self._hammer(batching_server.url, signatures)

    def test_a_bad_request_does_not_fail_its_batch(self, batching_server):
        url = f"{batching_server.url}/v1/models/digits:predict"
        bad = b'{"inputs": [' + json.dumps(IMAGE).replace("0.5", "NaN").encode() + b"]}"
        bodies = [bad] + [{"inputs": [IMAGE]}] * 7
        with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
            statuses = [r.status_code for r in pool.map(lambda body: _post(url, body), bodies)]
        assert statuses == [400] + [200] * 7

    def test_batch_larger_than_max_batch_size(self, batching_server):
        response = _post(f"{batching_server.url}/v1/models/digits:predict", {"inputs": [IMAGE] * 17})
        assert response.status_code == 400
        assert "Task size 17 is larger than maximum input batch size 16" in response.json()["error"]


class TestVersions:
    def test_new_version_is_served_without_restart(self, server):
        client = client_lib.RestClient(server.url, "pickup")
        images = _images(2, 6)
        before = client.predict(images)
        model = _model(2)
        export.export_classifier(model, server.pickup_path, [])
        deadline = time.monotonic() + 120
        while (states := client.status()["model_version_status"]) != [
            {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]:  # 2 LOADING while 1 serves, then 2 AVAILABLE and 1 unloaded
            assert time.monotonic() < deadline, states
            time.sleep(0.1)
        after = client.predict(images)
        np.testing.assert_allclose(after["logits"], model(images, training=False).numpy(), **TOLERANCE)
        assert not np.allclose(after["logits"], before["logits"])


class TestClients:
    def test_rest_row_and_grpc_clients_agree_with_in_process(self, server, signatures):
        images = _images(3, 7)
        grpc_client = client_lib.Client(f"grpc://{server.grpc_target}", "digits")
        for client in (
            client_lib.Client(server.url, "digits"),
            client_lib.RestClient(server.url, "digits", row_format=True),
            grpc_client,
        ):
            for key, method in (("explain_ig", "ig"), ("explain_agi", "agi")):
                outputs = client.explain(images, method)
                _assert_equal_outputs(outputs, _reference(signatures, key, images))
                assert outputs["attributions"].dtype == np.float32 and outputs["targets"].dtype == np.int32
            predictions = client.predict(images)
            _assert_equal_outputs(predictions, _reference(signatures, "serving_default", images))
        grpc_client.close()

    def test_grpc_status_metadata_and_errors(self, server):
        client = client_lib.GrpcClient(server.grpc_target, "digits")
        rest = client_lib.RestClient(server.url, "digits")
        assert client.status() == rest.status()
        assert client.metadata()["metadata"] == rest.metadata()["metadata"]
        assert client.input_shape() == INPUT_SHAPE
        with pytest.raises(client_lib.ServingError, match="NOT_FOUND"):
            client_lib.GrpcClient(server.grpc_target, "nope").predict(_images(1, 0))
        with pytest.raises(client_lib.ServingError, match="INVALID_ARGUMENT: .*expected finite values"):
            client.predict(np.full((1, *INPUT_SHAPE), np.nan, np.float32))
        client.close()

    def test_rest_client_errors(self, server):
        with pytest.raises(client_lib.ServingError, match="404: Servable not found"):
            client_lib.RestClient(server.url, "digits", version=9).predict(_images(1, 0))
        with pytest.raises(ValueError, match="Expected http://host:port or grpc://host:port"):
            client_lib.Client("127.0.0.1:8501", "digits")

    def test_command_line_writes_a_heatmap(self, server, tmp_path):
        np.save(tmp_path / "digits.npy", _images(2, 8))
        output = tmp_path / "heat" / "map.png"
        run = subprocess.run(
            [sys.executable, "-m", "serving.client", f"--server={server.url}", "--model_name=digits",
             f"--input={tmp_path / 'digits.npy'}", "--method=ig", f"--output={output}"],
            check=False, cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.count("example ") == 2 and output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class TestConfigFiles:
    def test_repository_models_config_is_a_model_server_config(self):
        (model,) = server_lib.read_model_config_file(str(REPO / "serving" / "models.config"))
        assert (model.name, model.base_path, model.policy) == ("digits_pc", "/models/digits_pc", ("latest", 1))

    def test_policies_labels_and_relative_paths(self, tmp_path):
        (tmp_path / "models.config").write_text(
            'model_config_list { config { name: "a" base_path: "a" model_platform: "tensorflow" '
            "model_version_policy { specific { versions: 2 versions: 3 } } "
            'version_labels { key: "stable" value: 2 } } '
            'config { name: "b" base_path: "/b" model_version_policy { all {} } } }'
        )
        a, b = server_lib.read_model_config_file(str(tmp_path / "models.config"))
        assert a == server_lib.ModelConfig("a", str(tmp_path / "a"), ("specific", (2, 3)), {"stable": 2})
        assert a.select([1, 2, 3, 4]) == [2, 3] and b.select([1, 2]) == [1, 2]
        assert server_lib.ModelConfig("c", "/c").select([3, 1, 2]) == [3]

    def test_invalid_model_config(self, tmp_path):
        (tmp_path / "bad.config").write_text("model_config_list { config { nam: 'x' } }")
        with pytest.raises(ValueError, match="Invalid --model_config_file"):
            server_lib.read_model_config_file(str(tmp_path / "bad.config"))

    def test_repository_batching_config(self):
        text = (REPO / "serving" / "batching.config").read_text()
        assert server_lib.BatchingParameters.parse(text) == server_lib.BatchingParameters(32, 2000, 100, 2)
        with pytest.raises(ValueError, match="unknown fields \\['pad_variable_length_inputs'\\]"):
            server_lib.BatchingParameters.parse("pad_variable_length_inputs { value: 1 }")
        with pytest.raises(ValueError, match="must be >= 1"):
            server_lib.BatchingParameters.parse("max_batch_size { value: 0 }")

    def test_docker_compose_mounts_the_config_files(self):
        yaml = pytest.importorskip("yaml")
        service = yaml.safe_load((REPO / "serving" / "docker-compose.yml").read_text())["services"][
            "tensorflow-serving"
        ]
        assert service["image"].startswith("tensorflow/serving:")
        assert {"--model_config_file=/config/models.config", "--enable_batching=true",
                "--batching_parameters_file=/config/batching.config"} <= set(service["command"])  # fmt: skip
        mounted = [volume.split(":")[0] for volume in service["volumes"][1:]]
        assert all((REPO / "serving" / path).exists() for path in mounted)


def test_server_and_client_never_import_tfxai():
    """Served models need TensorFlow only: no tfxai import in the server or the client."""
    for module in ("server.py", "client.py", "__init__.py"):
        tree = ast.parse((REPO / "serving" / module).read_text())
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [name for name in imported if name.split(".")[0] == "tfxai"], module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestCommandLines:
    """The README's chain: `serving.export` on a trainer workdir, `serving.server` with TF
    Serving's flags, REST and gRPC clients, then SIGTERM while a request is in flight."""

    @pytest.fixture(scope="class")
    def exported_by_app(self, tmp_path_factory) -> pathlib.Path:
        workdir = tmp_path_factory.mktemp("workdir") / "digits_pc"
        workdir.mkdir()
        _model(0).save(workdir / "model.keras")
        kwargs = json.dumps({"ig": {"steps": 8}, "agi": {"max_steps": 5, "num_false_classes": 3}})
        run = subprocess.run(
            [sys.executable, "-m", "serving.export", f"--workdir={workdir}", "--explainers=ig,agi",
             f"--explainer_kwargs={kwargs}"],
            check=False, cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        path = pathlib.Path(run.stdout.strip().splitlines()[-1])
        assert path == workdir / "export" / "digits_pc" / "1"
        info = json.loads((path / export.INFO_FILE).read_text())
        assert sorted(info["signatures"]) == ["explain_agi", "explain_ig", "serving_default"]
        assert info["signatures"]["explain_ig"]["explainer"]["config"]["steps"] == 8
        return path

    def test_export_serve_query_and_sigterm_drains(self, exported_by_app):
        signatures = tf.saved_model.load(str(exported_by_app)).signatures
        rest, grpc_port = _free_port(), _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "serving.server", "--model_name=digits_pc",
             f"--model_base_path={exported_by_app.parent}", f"--rest_api_port={rest}", f"--port={grpc_port}",
             "--file_system_poll_wait_seconds=0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{rest}"
            deadline = time.monotonic() + 300
            while True:
                assert process.poll() is None, process.stdout.read()[-3000:]
                assert time.monotonic() < deadline, "the server did not start"
                try:
                    if requests.get(f"{url}/v1/models/digits_pc", timeout=5).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.5)
            images = _images(32, 9)
            client = client_lib.Client(url, "digits_pc")
            _assert_equal_outputs(client.predict(images), _reference(signatures, "serving_default", images))
            grpc_client = client_lib.Client(f"grpc://127.0.0.1:{grpc_port}", "digits_pc")
            _assert_equal_outputs(
                grpc_client.explain(images[:2], "ig"), _reference(signatures, "explain_ig", images[:2])
            )
            grpc_client.close()
            many = _images(256, 10)  # about a second of AGI: usually still running at SIGTERM
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                in_flight = pool.submit(client.explain, many, "agi")
                time.sleep(1.0)
                process.send_signal(signal.SIGTERM)
                _assert_equal_outputs(in_flight.result(), _reference(signatures, "explain_agi", many))
            assert process.wait(timeout=120) == 0
            assert "Server stopped" in process.stdout.read()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
