"""MovieLens ratings with item aspects (genres), seeded splits and `tf.data` pipelines.

Two readers return the same `RatingsData`:

| reader | source | needs |
|---|---|---|
| `load_grouplens(path)` | the GroupLens folder format of MovieLens 100K: `u.data` (`user \\t item \\t rating \\t timestamp`), `u.item` (`id|title|release|video release|URL|` one 0/1 flag per genre), `u.genre` (`name|index`) | the folder |
| `load_tfds(name)` | TensorFlow Datasets `movielens/100k-ratings` (or another `movielens/*-ratings`) | network on first use, or `data_dir=` a TFDS data dir |

Users and items are re-indexed `0..N-1` (sorted by their external id; `user_ids` and
`item_ids` map back). Aspects are the genres, as a multi-hot matrix `[num_items, num_aspects]`;
placeholder genres (`unknown`, `(no genres listed)`) are not aspects and genres no item has are
dropped, so ML-100K has the paper's 18 aspects and an item listed only as `unknown` has none.
Malformed rows raise `DataError` naming the file and line; a rating outside the rating scale
is malformed.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf
from sklearn import model_selection

from tfxai.data import DataError

GROUPLENS_FILES = ("u.data", "u.item", "u.genre")
TFDS_NAME = "movielens/100k-ratings"
PLACEHOLDER_ASPECTS = ("unknown", "(no genres listed)")
# The ClassLabel names of `movie_genres` in TFDS `movielens/*` (tensorflow_datasets/structured/movielens.py).
TFDS_GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "Unknown",
    "War",
    "Western",
    "(no genres listed)",
)


@dataclasses.dataclass(frozen=True)
class Ratings:
    """Rating triples `(user, item, rating)` with 0-based user and item indices.

    Attributes:
        users: int32 `[N]` user indices.
        items: int32 `[N]` item indices.
        ratings: float32 `[N]` ratings.
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.ratings)

    def take(self, index: np.ndarray) -> Ratings:
        """The rows at `index` (an integer index array or a boolean mask)."""
        return Ratings(self.users[index], self.items[index], self.ratings[index])


@dataclasses.dataclass(frozen=True)
class RatingsData:
    """Ratings of `num_users` users on `num_items` items described by multi-hot aspects.

    Attributes:
        name: where the data came from.
        ratings: all ratings.
        item_aspects: float32 `[num_items, num_aspects]` multi-hot aspects (`s_j` in the paper).
        aspect_names: `num_aspects` names.
        user_ids: external user ids, `user_ids[index]`.
        item_ids: external item ids, `item_ids[index]`.
        item_titles: item titles, `item_titles[index]`.
        rating_scale: `(lowest, highest)` rating; `highest` is the paper's A.
    """

    name: str
    ratings: Ratings
    item_aspects: np.ndarray
    aspect_names: tuple
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_titles: tuple
    rating_scale: tuple = (1.0, 5.0)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_aspects(self) -> int:
        return len(self.aspect_names)

    def summary(self) -> str:
        without = int(np.sum(self.item_aspects.sum(axis=1) == 0))
        return (
            f"{self.name}: {len(self.ratings)} ratings, {self.num_users} users, {self.num_items} items, "
            f"{self.num_aspects} aspects ({without} items without any), ratings in {list(self.rating_scale)}"
        )

    def split(self, test_size: float = 0.2, *, seed: int = 0) -> tuple[Ratings, Ratings]:
        """A seeded random `(train, test)` split of the ratings.

        Args:
            test_size: fraction of the ratings held out, in (0, 1). Defaults to 0.2.
            seed: shuffle seed. Defaults to 0.
        """
        return split_ratings(self.ratings, test_size, seed=seed)

    def kfold(self, num_folds: int = 5, *, seed: int = 0) -> list[tuple[Ratings, Ratings]]:
        """Seeded, shuffled k-fold `(train, test)` splits (scikit-learn `KFold`, as the authors' code).

        Args:
            num_folds: number of folds, at least 2. Defaults to 5.
            seed: shuffle seed. Defaults to 0.
        """
        if not isinstance(num_folds, int) or num_folds < 2:
            raise ValueError(
                f"Invalid value for argument `num_folds`. Expected an int >= 2. Received: num_folds={num_folds!r}"
            )
        folds = model_selection.KFold(num_folds, shuffle=True, random_state=seed)
        return [
            (self.ratings.take(train), self.ratings.take(test)) for train, test in folds.split(self.ratings.ratings)
        ]

    def features(self, ratings: Ratings) -> dict[str, np.ndarray]:
        """Model inputs of `ratings`: `{"user": [N], "item": [N], "aspects": [N, num_aspects]}`."""
        return {"user": ratings.users, "item": ratings.items, "aspects": self.item_aspects[ratings.items]}

    def pipeline(self, ratings: Ratings, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """A batched, prefetched `tf.data.Dataset` of `(features, rating)`.

        Args:
            ratings: the rows to serve.
            batch_size: ratings per batch.
            shuffle: reshuffle every epoch (seeded). Defaults to `False`.
            seed: shuffle seed. Defaults to 0.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Invalid value for argument `batch_size`. Expected a positive int. Received: batch_size={batch_size!r}"
            )
        dataset = tf.data.Dataset.from_tensor_slices((self.features(ratings), ratings.ratings))
        if shuffle:
            dataset = dataset.shuffle(len(ratings), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def encode(self, user_ids: Iterable, item_ids: Iterable) -> tuple[np.ndarray, np.ndarray]:
        """Maps external user and item ids to the 0-based indices the models take.

        Raises:
            ValueError: an id not in the data (no cold-start embedding exists for it).
        """
        return _index_of(self.user_ids, user_ids, "user"), _index_of(self.item_ids, item_ids, "item")

    def subsample_users(self, num_users: int, *, seed: int = 0) -> RatingsData:
        """Keeps the ratings of `num_users` users drawn at random (seeded), re-indexed `0..num_users-1`.

        Items keep their indices, so aspects and titles are unchanged.
        """
        if not isinstance(num_users, int) or not 0 < num_users <= self.num_users:
            raise ValueError(
                f"Invalid value for argument `num_users`. Expected an int in [1, {self.num_users}]. "
                f"Received: num_users={num_users!r}"
            )
        kept = np.sort(np.random.default_rng(seed).choice(self.num_users, num_users, replace=False))
        new_index = np.full(self.num_users, -1, np.int32)
        new_index[kept] = np.arange(num_users, dtype=np.int32)
        rows = self.ratings.take(new_index[self.ratings.users] >= 0)
        ratings = Ratings(new_index[rows.users], rows.items, rows.ratings)
        return dataclasses.replace(
            self, name=f"{self.name} ({num_users} users)", ratings=ratings, user_ids=self.user_ids[kept]
        )


def split_ratings(ratings: Ratings, test_size: float = 0.2, *, seed: int = 0) -> tuple[Ratings, Ratings]:
    """A seeded random `(train, test)` split of `ratings`, each part in the original row order.

    Args:
        ratings: the rows to split.
        test_size: fraction held out, in (0, 1). Defaults to 0.2.
        seed: shuffle seed. Defaults to 0.
    """
    if not 0 < test_size < 1:
        raise ValueError(
            f"Invalid value for argument `test_size`. Expected a fraction in (0, 1). Received: test_size={test_size!r}"
        )
    train, test = model_selection.train_test_split(np.arange(len(ratings)), test_size=test_size, random_state=seed)
    return ratings.take(np.sort(train)), ratings.take(np.sort(test))


def _index_of(known: np.ndarray, ids: Iterable, what: str) -> np.ndarray:
    ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1)
    position = np.clip(np.searchsorted(known, ids), 0, len(known) - 1)
    unknown = known[position] != ids
    if np.any(unknown):
        raise ValueError(
            f"Unknown {what} id {ids[unknown][0].item()!r}: not in the data set ({len(known)} {what}s with ids "
            f"{known[0].item()!r}..{known[-1].item()!r}); the models have no embedding for it (no cold-start support)."
        )
    return position.astype(np.int32)


# --------------------------------------------------------------------------- GroupLens folder


def load_grouplens(
    path: str | os.PathLike, *, rating_scale: tuple = (1.0, 5.0), exclude_aspects: Sequence[str] = PLACEHOLDER_ASPECTS
) -> RatingsData:
    """Reads a MovieLens 100K folder in the GroupLens format.

    Args:
        path: the folder holding `u.data`, `u.item` and `u.genre`.
        rating_scale: `(lowest, highest)` valid rating. Defaults to `(1, 5)`.
        exclude_aspects: genre names (case-insensitive) that are not aspects. Defaults to
            `("unknown", "(no genres listed)")`.

    Returns:
        A `RatingsData` with users and items indexed by their sorted GroupLens ids.

    Raises:
        DataError: a missing file, or a malformed row (the message names file and line).
    """
    folder = pathlib.Path(path)
    missing = [name for name in GROUPLENS_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"MovieLens (GroupLens format): {folder} lacks {missing}. Expected a folder with "
            f"{list(GROUPLENS_FILES)}, as in https://files.grouplens.org/datasets/movielens/ml-100k.zip."
        )
    genre_rows = _read_rows(folder / "u.genre", "|", 2)
    genre_names = [fields[0] for _, fields in genre_rows]
    genre_index = _numbers(folder / "u.genre", genre_rows, 1, int, "genre index")
    if sorted(genre_index.tolist()) != list(range(len(genre_names))):
        raise DataError(f"{folder / 'u.genre'}: genre indices must be 0..{len(genre_names) - 1} once each.")
    genre_names = [genre_names[i] for i in np.argsort(genre_index)]

    item_file = folder / "u.item"
    item_rows = _read_rows(item_file, "|", 5 + len(genre_names))
    item_ids = _numbers(item_file, item_rows, 0, int, "movie id")
    flags = np.stack(
        [
            _numbers(item_file, item_rows, 5 + k, int, f"flag of genre {genre_names[k]!r}")
            for k in range(len(genre_names))
        ],
        axis=1,
    )
    bad_flag = ~np.isin(flags, (0, 1)).all(axis=1)
    if np.any(bad_flag):
        raise DataError(f"{item_file}, line {item_rows[np.argmax(bad_flag)][0]}: genre flags must be 0 or 1.")
    _check_unique(item_file, item_rows, item_ids, "movie id")
    order = np.argsort(item_ids)
    titles = tuple(item_rows[i][1][1] for i in order)

    data_file = folder / "u.data"
    rows = _read_rows(data_file, "\t", 4)
    users = _numbers(data_file, rows, 0, int, "user id")
    items = _numbers(data_file, rows, 1, int, "item id")
    ratings = _numbers(data_file, rows, 2, float, "rating")
    _numbers(data_file, rows, 3, int, "timestamp")
    _check_scale(lambda at: f"{data_file}, line {rows[at][0]}", ratings, rating_scale)
    unknown_item = ~np.isin(items, item_ids)
    if np.any(unknown_item):
        at = np.argmax(unknown_item)
        raise DataError(f"{data_file}, line {rows[at][0]}: item id {items[at]} is not in {item_file.name}.")
    user_ids = np.unique(users)
    item_ids = item_ids[order]
    aspects, names = _select_aspects(flags[order].astype(np.float32), genre_names, exclude_aspects)
    return RatingsData(
        name=f"MovieLens ({folder.name}, GroupLens format)",
        ratings=Ratings(
            np.searchsorted(user_ids, users).astype(np.int32),
            np.searchsorted(item_ids, items).astype(np.int32),
            ratings.astype(np.float32),
        ),
        item_aspects=aspects,
        aspect_names=names,
        user_ids=user_ids,
        item_ids=item_ids,
        item_titles=titles,
        rating_scale=tuple(float(r) for r in rating_scale),
    )


def _read_rows(file: pathlib.Path, separator: str, num_fields: int) -> list[tuple[int, list[str]]]:
    """`(line number, fields)` of the non-blank lines, each checked to have `num_fields` fields."""
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # the GroupLens originals are latin-1
        text = raw.decode("latin-1")
    rows = [(number, line.split(separator)) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:
        raise DataError(f"{file}: the file holds no rows.")
    wrong = next(((number, fields) for number, fields in rows if len(fields) != num_fields), None)
    if wrong is not None:
        raise DataError(
            f"{file}, line {wrong[0]}: expected {num_fields} fields separated by {separator!r}, found {len(wrong[1])}."
        )
    return rows


def _numbers(file: pathlib.Path, rows: list, column: int, kind: type, what: str) -> np.ndarray:
    """Column `column` of `rows` as int64 or float64; the first unparsable value names its line."""
    values = [fields[column].strip() for _, fields in rows]
    try:
        array = np.array(values, dtype=np.float64 if kind is float else np.int64)
    except ValueError:
        for (line, _), value in zip(rows, values):
            try:
                kind(value)
            except ValueError:
                raise DataError(
                    f"{file}, line {line}: {what} must be {'a number' if kind is float else 'an integer'}. "
                    f"Received: {value!r}"
                ) from None
        raise
    if kind is float and not np.all(np.isfinite(array)):
        line = rows[int(np.argmax(~np.isfinite(array)))][0]
        raise DataError(f"{file}, line {line}: {what} must be finite.")
    return array


def _check_scale(where: Callable[[int], str], ratings: np.ndarray, rating_scale: tuple) -> None:
    """Raises naming the first rating outside `rating_scale`; `where(row)` says where that row is."""
    low, high = rating_scale
    outside = (ratings < low) | (ratings > high)
    if np.any(outside):
        at = int(np.argmax(outside))
        raise DataError(f"{where(at)}: rating {ratings[at]:g} is outside the rating scale [{low:g}, {high:g}].")


def _check_unique(file, rows, ids, what) -> None:
    _, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if np.any(counts > 1):
        duplicate = ids[first[np.argmax(counts > 1)]]
        line = rows[int(np.flatnonzero(ids == duplicate)[1])][0]
        raise DataError(f"{file}, line {line}: duplicate {what} {duplicate}.")


def _select_aspects(multi_hot: np.ndarray, names: Sequence[str], exclude: Sequence[str]) -> tuple[np.ndarray, tuple]:
    excluded = {name.lower() for name in exclude}
    keep = [k for k, name in enumerate(names) if name.lower() not in excluded and multi_hot[:, k].any()]
    return np.ascontiguousarray(multi_hot[:, keep]), tuple(names[k] for k in keep)


# --------------------------------------------------------------------------- TensorFlow Datasets


def load_tfds(
    name: str = TFDS_NAME,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    rating_scale: tuple = (1.0, 5.0),
    exclude_aspects: Sequence[str] = PLACEHOLDER_ASPECTS,
) -> RatingsData:
    """Reads MovieLens ratings through TensorFlow Datasets (`movielens/100k-ratings` by default).

    Args:
        name: a TFDS `movielens/*-ratings` name. Defaults to `"movielens/100k-ratings"`.
        data_dir: TFDS data dir. Defaults to TFDS' own.
        download: let TFDS download and prepare the data when missing. Defaults to `True`.
        rating_scale: `(lowest, highest)` valid rating. Defaults to `(1, 5)`.
        exclude_aspects: genre names that are not aspects. Defaults to `("unknown", "(no genres listed)")`.

    Returns:
        A `RatingsData`; ids are the MovieLens integer ids, items never rated are absent.

    Raises:
        DataError: the download or preparation failed, or a row is malformed (named by its index).
    """
    import tensorflow_datasets as tfds

    try:
        split = tfds.load(name, split="train", data_dir=None if data_dir is None else str(data_dir), download=download)
    except Exception as error:  # TFDS raises many types (network, missing files, checksums)
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise DataError(
            f"MovieLens `{name}` could not be loaded through TensorFlow Datasets ({type(error).__name__}: "
            f"{first_line}). It downloads on first use, which needs network access; offline, prepare it elsewhere "
            "with `tfds build` and pass data_dir=<that TFDS data dir>, or download "
            "https://files.grouplens.org/datasets/movielens/ml-100k.zip and use load_grouplens(<unzipped folder>)."
        ) from None

    def columns(example):
        genres = tf.cast(example["movie_genres"], tf.int32)
        multi_hot = tf.minimum(tf.reduce_sum(tf.one_hot(genres, len(TFDS_GENRES)), axis=0), 1.0)
        return (
            example["user_id"],
            example["movie_id"],
            example["movie_title"],
            tf.cast(example["user_rating"], tf.float64),
            multi_hot,
        )

    batches = list(split.map(columns).batch(65536).as_numpy_iterator())
    if not batches:
        raise DataError(f"MovieLens `{name}` (TFDS): the train split is empty.")
    user_text, item_text, title_text, ratings, multi_hot = (np.concatenate(part) for part in zip(*batches))
    users = _tfds_ids(name, user_text, "user_id")
    items = _tfds_ids(name, item_text, "movie_id")
    _check_scale(lambda at: f"TFDS `{name}`, row {at}", ratings, rating_scale)
    user_ids, item_ids = np.unique(users), np.unique(items)
    item_index = np.searchsorted(item_ids, items)
    table = np.zeros((len(item_ids), len(TFDS_GENRES)), np.float32)
    table[item_index] = multi_hot
    titles = np.empty(len(item_ids), object)
    titles[item_index] = [title.decode("utf-8", "replace") for title in title_text]
    aspects, names = _select_aspects(table, TFDS_GENRES, exclude_aspects)
    return RatingsData(
        name=f"MovieLens (TFDS {name})",
        ratings=Ratings(
            np.searchsorted(user_ids, users).astype(np.int32), item_index.astype(np.int32), ratings.astype(np.float32)
        ),
        item_aspects=aspects,
        aspect_names=names,
        user_ids=user_ids,
        item_ids=item_ids,
        item_titles=tuple(titles),
        rating_scale=tuple(float(r) for r in rating_scale),
    )


def _tfds_ids(name: str, text: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.array([int(value) for value in text], dtype=np.int64)
    except ValueError:
        row = next(i for i, value in enumerate(text) if not value.strip().isdigit())
        raise DataError(f"TFDS `{name}`, row {row}: {what} must be an integer id. Received: {text[row]!r}") from None
