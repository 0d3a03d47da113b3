"""tfxai.export: every signature under `saved_model_cli run` and in a process without tfxai,
equal to the in-process explainers; in-graph input checks; metadata; version numbering."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxai import export, models
from tfxai.attribution import AGI, BIG, BSM, BlurIG, GradientInput, IntegratedGradients, Saliency, SmoothGrad

INPUT_SHAPE = (8, 8, 1)
NUM_CLASSES = 10
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
# Eleven processes start at once: one TensorFlow thread each keeps them from crowding each other out.
SUBPROCESS_ENV = {
    **os.environ,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "CUDA_VISIBLE_DEVICES": "",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}

# Runs in a fresh interpreter that never imports tfxai: the TF2 loader on every signature,
# then TF Serving's way of feeding (a TF1 session fed tensors of any shape: the placeholders
# are remapped to shapeless ones, so only the in-graph checks stand between them and the model).
FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    path, data, out = sys.argv[1:4]
    inputs = np.load(data)
    loaded = tf.saved_model.load(path)
    outputs = {}
    for key, function in loaded.signatures.items():
        feed = {"images": tf.constant(inputs["images"])}
        if "targets" in function.structured_input_signature[1]:
            feed["targets"] = tf.constant(inputs["targets"])
        for name, value in function(**feed).items():
            outputs[f"{key}/{name}"] = value.numpy()
    np.savez(out + ".npz", **outputs)

    errors = {}
    tf1 = tf.compat.v1
    cases = {
        "rank3": ("serving_default", np.zeros((2, 8, 8), np.float32), None),
        "rank5": ("serving_default", np.zeros((2, 8, 8, 1, 1), np.float32), None),
        "spatial": ("serving_default", np.zeros((2, 4, 4, 1), np.float32), None),
        "empty": ("serving_default", np.zeros((0, 8, 8, 1), np.float32), None),
        "nan": ("serving_default", np.full((2, 8, 8, 1), np.nan, np.float32), None),
        "range": ("serving_default", np.full((2, 8, 8, 1), 2.0, np.float32), None),
        "targets_length": ("explain_agi", np.zeros((2, 8, 8, 1), np.float32), np.array([-1], np.int32)),
        "targets_range": ("explain_ig", np.zeros((2, 8, 8, 1), np.float32), np.array([-1, 10], np.int32)),
    }
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        free, input_map = {}, {}
        for key in ("serving_default", "explain_agi", "explain_ig"):
            for name, dtype in (("images", tf.float32), ("targets", tf.int32)):
                if key != "serving_default" or name == "images":
                    free[key, name] = input_map[f"{key}_{name}:0"] = tf1.placeholder(dtype, shape=None)
        meta_graph = tf1.saved_model.load(session, ["serve"], path, input_map=input_map)
        for case, (key, images, targets) in cases.items():
            fetches = {k: v.name for k, v in meta_graph.signature_def[key].outputs.items()}
            feed = {free[key, "images"]: images}
            if targets is not None:
                feed[free[key, "targets"]] = targets
            try:
                session.run(fetches, feed)
                errors[case] = None
            except tf.errors.OpError as error:
                errors[case] = [type(error).__name__, error.message]
    json.dump({"tfxai_imported": "tfxai" in sys.modules, "errors": errors}, open(out + ".json", "w"))
    """)


SEARCH = {"epsilons": (0.1, 0.3), "steps": 5, "cw_steps": 5, "cw_binary_search_steps": 1, "refine_steps": 2}


def _explainers(model: keras.Model) -> list:
    """One explainer per method, small enough for a fast test."""
    return [
        Saliency(model),
        GradientInput(model),
        IntegratedGradients(model, steps=8),
        SmoothGrad(model, num_samples=4),
        BlurIG(model, steps=8),
        AGI(model, max_steps=5, num_false_classes=3),
        BSM(model, search=SEARCH),
        BIG(model, steps=4, search=SEARCH),
    ]


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return models.build("cnn2c", INPUT_SHAPE, NUM_CLASSES, padding="same")


@pytest.fixture(scope="module")
def batch() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "images": rng.uniform(0.0, 1.0, (4, *INPUT_SHAPE)).astype(np.float32),
        "targets": np.array([-1, 3, -1, 7], np.int32),
    }


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory) -> tuple[str, dict]:
    """The exported version path and `{signature: in-process explainer or None}`."""
    explainers = _explainers(model)
    path = export.export_classifier(model, tmp_path_factory.mktemp("export") / "digits", explainers)
    return path, {"serving_default": None, **{f"explain_{export._method_name(e)}": e for e in explainers}}


@pytest.fixture(scope="module")
def expected(model, exported, batch) -> dict[str, dict[str, np.ndarray]]:
    """In-process outputs of every signature: the model and the explainers' cores."""
    images, targets = tf.constant(batch["images"]), tf.constant(batch["targets"])
    logits = model(images, training=False)
    outputs = {
        "serving_default": {
            "logits": logits.numpy(),
            "probabilities": tf.nn.softmax(logits).numpy(),
            "classes": np.argmax(logits.numpy(), axis=-1).astype(np.int32),
        }
    }
    for key, explainer in exported[1].items():
        if explainer is not None:
            outputs[key] = {name: value.numpy() for name, value in explainer.core(images, targets).items()}
    return outputs


@pytest.fixture(scope="module")
def subprocess_runs(exported, batch, tmp_path_factory) -> dict:
    """Every signature under `saved_model_cli run`, `saved_model_cli show` and the
    fresh-interpreter script, all started at once (each process imports TensorFlow)."""
    path, signatures = exported
    work = tmp_path_factory.mktemp("runs")
    np.savez(work / "inputs.npz", **batch)
    images = repr(batch["images"].tolist())
    cli = ["saved_model_cli"]
    commands = {"show": cli + ["show", "--dir", path, "--all"]}
    for key in signatures:
        exprs = (
            f"images={images}" if key == "serving_default" else f"images={images};targets={batch['targets'].tolist()}"
        )
        commands[key] = cli + ["run", "--dir", path, "--tag_set", "serve", "--signature_def", key,
                               "--input_exprs", exprs, "--outdir", str(work / key)]  # fmt: skip
    commands["fresh"] = [sys.executable, "-c", FRESH_PROCESS, path, str(work / "inputs.npz"), str(work / "fresh")]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": SUBPROCESS_ENV, "cwd": work}
    processes = {name: subprocess.Popen(command, **pipes) for name, command in commands.items()}
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        results[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    results["work"] = work
    return results


def _assert_outputs_equal(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], where: str) -> None:
    assert sorted(actual) == sorted(expected), where
    for name, value in expected.items():
        assert actual[name].dtype == value.dtype, f"{where}/{name}"
        if value.dtype.kind == "f":
            np.testing.assert_allclose(actual[name], value, **TOLERANCE, err_msg=f"{where}/{name}")
        else:
            np.testing.assert_array_equal(actual[name], value, err_msg=f"{where}/{name}")


class TestSavedModelCli:
    """`saved_model_cli` loads with the TF1 session loader that TensorFlow Serving uses."""

    def test_show_lists_every_signature_with_dynamic_batch(self, subprocess_runs, exported):
        show = subprocess_runs["show"]
        assert show.returncode == 0, show.stderr[-2000:]
        for key in exported[1]:
            assert f"signature_def['{key}']" in show.stdout
        assert "shape: (-1, 8, 8, 1)" in show.stdout and "dtype: DT_INT32" in show.stdout
        assert "Method name is: tensorflow/serving/predict" in show.stdout

    @pytest.mark.parametrize(
        "key",
        [
            "serving_default",
            "explain_saliency",
            "explain_gradient_input",
            "explain_ig",
            "explain_smoothgrad",
            "explain_blur_ig",
            "explain_agi",
            "explain_bsm",
            "explain_big",
        ],
    )
    def test_signature_runs_and_matches_in_process(self, subprocess_runs, expected, key):
        run = subprocess_runs[key]
        assert run.returncode == 0, run.stderr[-3000:]
        folder = subprocess_runs["work"] / key
        actual = {name: np.load(folder / f"{name}.npy") for name in expected[key]}
        _assert_outputs_equal(actual, expected[key], key)


class TestFreshProcess:
    """`tf.saved_model.load` in an interpreter that never imported tfxai."""

    @pytest.fixture(scope="class")
    def fresh(self, subprocess_runs) -> dict:
        run = subprocess_runs["fresh"]
        assert run.returncode == 0, run.stderr[-3000:]
        work = subprocess_runs["work"]
        return {
            "outputs": dict(np.load(work / "fresh.npz")),
            **json.loads((work / "fresh.json").read_text()),
        }

    def test_tfxai_not_imported(self, fresh):
        assert fresh["tfxai_imported"] is False

    def test_every_signature_matches_in_process(self, fresh, expected):
        for key, outputs in expected.items():
            actual = {name.split("/")[1]: v for name, v in fresh["outputs"].items() if name.startswith(key + "/")}
            _assert_outputs_equal(actual, outputs, key)

    @pytest.mark.parametrize(
        "case, message",
        [
            ("rank3", "expected shape [batch, 8, 8, 1]; received shape] [2 8 8]"),
            ("rank5", "expected shape [batch, 8, 8, 1]; received shape] [2 8 8 1 1]"),
            ("spatial", "expected shape [batch, 8, 8, 1]; received shape] [2 4 4 1]"),
            ("empty", "expected at least one image"),
            ("nan", "expected finite values"),
            ("range", "expected values in [0.0, 1.0]"),
            ("targets_length", "Invalid input `targets`: expected shape [batch]"),
            ("targets_range", "expected classes in [0, 10) or -1"),
        ],
    )
    def test_tensors_fed_as_tf_serving_does_fail_in_graph(self, fresh, case, message):
        error = fresh["errors"][case]
        assert error is not None and error[0] == "InvalidArgumentError", error
        assert message in error[1]


class TestSignatures:
    @pytest.fixture(scope="class")
    def loaded(self, exported):
        return tf.saved_model.load(exported[0]).signatures

    def test_minus_one_explains_the_predicted_class(self, loaded, batch):
        images = tf.constant(batch["images"])
        classes = loaded["serving_default"](images=images)["classes"]
        predicted = loaded["explain_ig"](images=images, targets=tf.fill([len(batch["images"])], -1))
        explicit = loaded["explain_ig"](images=images, targets=classes)
        np.testing.assert_array_equal(predicted["targets"], classes)
        np.testing.assert_array_equal(predicted["attributions"], explicit["attributions"])

    def test_serving_default_is_softmax_and_argmax_of_logits(self, loaded, batch):
        outputs = loaded["serving_default"](images=tf.constant(batch["images"]))
        np.testing.assert_allclose(outputs["probabilities"], tf.nn.softmax(outputs["logits"]), rtol=1e-6)
        np.testing.assert_array_equal(outputs["classes"], np.argmax(outputs["logits"], axis=-1))

    @pytest.mark.parametrize(
        "images, targets, message",
        [
            (np.full((2, 8, 8, 1), np.nan), [-1, -1], "expected finite values"),
            (np.full((2, 8, 8, 1), 1.5), [-1, -1], r"expected values in \[0.0, 1.0\]"),
            (np.full((2, 4, 4, 1), 0.5), [-1, -1], r"expected shape \[batch, 8, 8, 1\]"),
            (np.full((2, 8, 8, 1), 0.5), [-1, 10], r"expected classes in \[0, 10\) or -1"),
            (np.full((2, 8, 8, 1), 0.5), [-2, 0], r"expected classes in \[0, 10\) or -1"),
            (np.full((2, 8, 8, 1), 0.5), [0, 1, 2], r"Invalid input `targets`: expected shape \[batch\]"),
        ],
    )
    def test_invalid_inputs_raise_invalid_argument(self, loaded, images, targets, message):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            loaded["explain_agi"](images=tf.constant(images, tf.float32), targets=tf.constant(targets, tf.int32))

    def test_input_range_none_checks_finiteness_only(self, model, tmp_path):
        path = export.export_classifier(model, tmp_path, [], input_range=None)
        signature = tf.saved_model.load(path).signatures["serving_default"]
        assert signature(images=tf.fill([1, 8, 8, 1], 7.0))["logits"].shape == (1, NUM_CLASSES)
        with pytest.raises(tf.errors.InvalidArgumentError, match="expected finite values"):
            signature(images=tf.fill([1, 8, 8, 1], np.inf))


class TestExportInfo:
    def test_describes_signatures_and_explainer_configs(self, exported):
        path, signatures = exported
        info = json.loads(pathlib.Path(path, export.INFO_FILE).read_text())
        assert info["format"] == export.INFO_FORMAT
        assert info["model"]["input_shape"] == list(INPUT_SHAPE) and info["model"]["num_classes"] == NUM_CLASSES
        assert info["input_range"] == [0.0, 1.0]
        assert sorted(info["signatures"]) == sorted(signatures)
        ig = info["signatures"]["explain_ig"]
        assert ig["inputs"] == {"images": {"dtype": "float32", "shape": [None, 8, 8, 1]},
                                "targets": {"dtype": "int32", "shape": [None]}}  # fmt: skip
        assert ig["outputs"]["convergence_delta"] == {"dtype": "float32", "shape": [None]}
        assert ig["explainer"]["class_name"] == "IntegratedGradients"
        assert ig["explainer"]["config"] == json.loads(json.dumps(signatures["explain_ig"].get_config()))
        assert info["signatures"]["explain_agi"]["outputs"]["success"] == {"dtype": "bool", "shape": [None, 3]}
        assert info["signatures"]["serving_default"]["outputs"]["classes"] == {"dtype": "int32", "shape": [None]}
        big = info["signatures"]["explain_big"]
        assert big["outputs"]["boundary_success"] == {"dtype": "bool", "shape": [None]}
        assert big["explainer"]["config"]["search"]["steps"] == SEARCH["steps"]

    def test_names_with_kwargs_build_explainers(self, model, tmp_path):
        path = export.export_classifier(model, tmp_path, {"ig": {"steps": 3}, "saliency": {}})
        info = json.loads(pathlib.Path(path, export.INFO_FILE).read_text())
        assert sorted(info["signatures"]) == ["explain_ig", "explain_saliency", "serving_default"]
        assert info["signatures"]["explain_ig"]["explainer"]["config"]["steps"] == 3


class TestVersions:
    def test_next_integer_explicit_versions_and_clean_staging(self, model, tmp_path):
        (tmp_path / "notes").mkdir()  # not a version
        assert export.export_classifier(model, tmp_path, []) == str(tmp_path / "1")
        assert export.export_classifier(model, tmp_path, []) == str(tmp_path / "2")
        assert export.export_classifier(model, tmp_path, [], version=7) == str(tmp_path / "7")
        assert export.export_classifier(model, tmp_path, []) == str(tmp_path / "8")
        assert export.existing_versions(tmp_path) == [1, 2, 7, 8]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2", "7", "8", "notes"]  # no staging left
        assert oct((tmp_path / "8").stat().st_mode & 0o777) == oct(0o755)
        with pytest.raises(FileExistsError, match="Version 7 exists already"):
            export.export_classifier(model, tmp_path, [], version=7)

    def test_failed_export_leaves_no_version(self, model, tmp_path, monkeypatch):
        def fail(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", fail)  # the TF backend's class
        with pytest.raises(OSError, match="disk full"):
            export.export_classifier(model, tmp_path, [])
        assert list(tmp_path.iterdir()) == []

    def test_publish_takes_the_next_number_when_raced(self, tmp_path):
        (tmp_path / "1").mkdir()
        (tmp_path / "1" / "saved_model.pb").write_bytes(b"")
        staging = tmp_path / ".tmp-export-x"
        staging.mkdir()
        (staging / "saved_model.pb").write_bytes(b"new")
        assert export._publish(staging, tmp_path, None) == tmp_path / "2"
        assert (tmp_path / "2" / "saved_model.pb").read_bytes() == b"new"


class TestArguments:
    def test_method_names_of_instances(self, model):
        names = [export._method_name(e) for e in _explainers(model)]
        assert names == ["saliency", "gradient_input", "ig", "smoothgrad", "blur_ig", "agi", "bsm", "big"]

    @pytest.mark.parametrize(
        "explainers, error, message",
        [
            (["lime"], ValueError, "Invalid value for argument `explainers`"),
            (["ig", "ig"], ValueError, "at most one explainer per method"),
            ("ig", TypeError, "a list of names or explainers"),
            ([3], TypeError, "names in .* or Explainer instances. Received: explainers=3"),
        ],
    )
    def test_bad_explainers(self, model, tmp_path, explainers, error, message):
        with pytest.raises(error, match=message):
            export.export_classifier(model, tmp_path, explainers)

    def test_explainer_of_another_model(self, model, tmp_path):
        other = models.build("cnn2c", INPUT_SHAPE, NUM_CLASSES, padding="same")
        with pytest.raises(ValueError, match="Expected explainers of the exported model"):
            export.export_classifier(model, tmp_path, [Saliency(other)])

    @pytest.mark.parametrize(
        "kwargs, error, message",
        [
            ({"version": 0}, ValueError, "Invalid value for argument `version`"),
            ({"version": "3"}, TypeError, "Invalid value for argument `version`"),
            ({"input_range": (1.0, 0.0)}, ValueError, "Invalid value for argument `input_range`"),
        ],
    )
    def test_bad_version_and_range(self, model, tmp_path, kwargs, error, message):
        with pytest.raises(error, match=message):
            export.export_classifier(model, tmp_path, [], **kwargs)
        assert not any(tmp_path.iterdir())

    def test_not_a_model(self, tmp_path):
        with pytest.raises(TypeError, match="Expected a keras.Model"):
            export.export_classifier(lambda x: x, tmp_path, [])
