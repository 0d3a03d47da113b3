"""The data registry: splits, scaling, pipelines and the errors users see."""

import gzip

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfxai import data


class TestDigits:
    def test_shapes_range_and_split_sizes(self):
        ds = data.load("digits", validation_size=0.1)
        assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10
        assert len(ds.x_test) == 360 and len(ds.x_train) + len(ds.x_val) == 1797 - 360
        for images, labels in (ds.split(s) for s in ("train", "validation", "test")):
            assert images.dtype == np.float32 and labels.dtype == np.int32
            assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.9

    def test_splits_are_seeded_and_stratified(self):
        a, b, c = data.load("digits", seed=0), data.load("digits", seed=0), data.load("digits", seed=1)
        np.testing.assert_array_equal(a.x_test, b.x_test)
        assert not np.array_equal(a.y_test, c.y_test)
        counts = np.bincount(a.y_test, minlength=10)
        assert counts.min() >= 34 and counts.max() <= 38  # 20 % of ~180 per class

    def test_splits_partition_the_pool(self):
        ds = data.load("digits", validation_size=0.1)
        pool = np.concatenate([ds.x_train, ds.x_val, ds.x_test]).reshape(1797, -1)
        from sklearn.datasets import load_digits

        reference = load_digits().data / 16.0
        assert sorted(map(tuple, pool.round(4))) == sorted(map(tuple, reference.round(4)))

    def test_pipeline_batches_and_shuffles_reproducibly(self):
        ds = data.load("digits")
        first = [y.numpy() for _, y in ds.pipeline("train", 100, seed=3)]
        again = [y.numpy() for _, y in ds.pipeline("train", 100, seed=3)]
        assert [len(y) for y in first][:-1] == [100] * (len(first) - 1)
        np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))
        test_order = np.concatenate([y.numpy() for _, y in ds.pipeline("test", 64)])
        np.testing.assert_array_equal(test_order, ds.y_test)  # evaluation splits are not shuffled

    def test_imbalanced_training_split(self):
        ds = data.load("digits", train_class_fraction={3: 0.1})
        full = data.load("digits")
        counts, full_counts = np.bincount(ds.y_train), np.bincount(full.y_train)
        assert counts[3] == round(0.1 * full_counts[3])
        np.testing.assert_array_equal(np.delete(counts, 3), np.delete(full_counts, 3))
        np.testing.assert_array_equal(ds.y_test, full.y_test)

    def test_bad_arguments(self):
        with pytest.raises(data.DataError, match="Unknown data set name.*'digitz'"):
            data.load("digitz")
        with pytest.raises(ValueError, match="train_class_fraction"):
            data.load("digits", train_class_fraction={3: 1.5})
        with pytest.raises(ValueError, match="batch_size"):
            data.load("digits").pipeline("train", 0)
        with pytest.raises(ValueError, match="Unknown split"):
            data.load("digits").split("dev")
        with pytest.raises(data.DataError, match="empty 'validation' split"):
            data.load("digits").pipeline("validation", 8)


class TestMnist5k:
    def test_real_file_4000_1000_split(self, shared_data_dir):
        ds = data.load("mnist5k", data_dir=shared_data_dir)
        assert ds.x_train.shape == (4000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
        np.testing.assert_array_equal(np.bincount(ds.y_test), [100] * 10)
        assert ds.x_train.max() == 1.0 and ds.x_train.min() == 0.0

    def test_missing_data_dir_says_how_to_obtain_it(self, tmp_path):
        with pytest.raises(data.DataError, match="mnist_5k.csv.gz.*data_dir"):
            data.load("mnist5k")
        with pytest.raises(data.DataError, match="no such file"):
            data.load("mnist5k", data_dir=tmp_path)

    @pytest.mark.parametrize(
        "content, message",
        [
            (b"not gzip at all", "cannot read"),
            (gzip.compress(b"1,2,3\n4,5,6\n"), "3 columns per row; expected 785"),
            (gzip.compress((",".join(["300"] * 784) + ",1\n").encode()), "outside 0-255"),
        ],
    )
    def test_corrupt_file(self, tmp_path, content, message):
        (tmp_path / "mnist_5k.csv.gz").write_bytes(content)
        with pytest.raises(data.DataError, match=message):
            data.load("mnist5k", data_dir=tmp_path)


class TestNpz:
    def test_uint8_round_trip_and_channel_axis(self, tmp_path, rng):
        path = tmp_path / "d.npz"
        x = rng.integers(0, 256, size=(30, 6, 6), dtype=np.uint8)
        np.savez(path, x_train=x[:20], y_train=np.arange(20) % 3, x_test=x[20:], y_test=np.arange(10) % 3)
        ds = data.load("npz", path=path)
        assert ds.x_train.shape == (20, 6, 6, 1) and ds.num_classes == 3
        np.testing.assert_allclose(ds.x_test[..., 0], x[20:] / 255.0, rtol=1e-6)

    def test_nan_and_missing_arrays_are_rejected(self, tmp_path):
        x = np.zeros((4, 5, 5, 1), np.float32)
        x[0, 0, 0, 0] = np.nan
        np.savez(tmp_path / "nan.npz", x_train=x, y_train=np.zeros(4, int), x_test=x, y_test=np.zeros(4, int))
        with pytest.raises(data.DataError, match="finite and in \\[0, 1\\]"):
            data.load("npz", path=tmp_path / "nan.npz")
        np.savez(tmp_path / "partial.npz", x_train=x)
        with pytest.raises(data.DataError, match="lacks arrays"):
            data.load("npz", path=tmp_path / "partial.npz")
        with pytest.raises(data.DataError, match="needs path"):
            data.load("npz")

    def test_label_mismatch(self, tmp_path):
        x = np.zeros((4, 5, 5, 1), np.float32)
        np.savez(tmp_path / "bad.npz", x_train=x, y_train=np.zeros(3, int), x_test=x, y_test=np.zeros(4, int))
        with pytest.raises(data.DataError, match="y_train must hold one non-negative integer label per image"):
            data.load("npz", path=tmp_path / "bad.npz")


class TestTfds:
    def test_loads_through_tfds_with_mocked_download(self):
        with tfds.testing.mock_data(num_examples=12):
            ds = data.load("mnist", validation_size=2)
        assert ds.input_shape == (28, 28, 1) and ds.num_classes == 10
        assert len(ds.x_train) == 10 and len(ds.x_val) == 2 and len(ds.x_test) == 12
        assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0

    def test_failed_download_is_a_clear_error(self, monkeypatch):
        def offline(*args, **kwargs):
            raise ConnectionError("Failed to establish a new connection")

        monkeypatch.setattr(tfds, "load", offline)
        with pytest.raises(data.DataError, match="`fashion_mnist` could not be loaded.*network"):
            data.load("fashion_mnist")
