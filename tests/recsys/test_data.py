"""MovieLens readers (GroupLens folder, TFDS mocked), splits, pipelines and the errors users see."""

import numpy as np
import pytest
import tensorflow as tf

from tests.recsys import GENRES, ml100k_or_skip, write_grouplens
from tfxai.data import DataError
from tfxai.recsys import data as data_lib


@pytest.fixture
def folder(tmp_path):
    return write_grouplens(tmp_path / "ml")


def test_grouplens_reader(folder):
    data = data_lib.load_grouplens(folder)
    assert (data.num_users, data.num_items, len(data.ratings)) == (30, 40, 450)
    assert data.aspect_names == GENRES[1:]  # `unknown` is not an aspect
    assert data.item_aspects.shape == (40, 6) and data.item_aspects.dtype == np.float32
    assert data.item_aspects[0].sum() == 0 and np.all(data.item_aspects[1:].sum(axis=1) >= 1)
    assert data.ratings.users.dtype == np.int32 and data.ratings.users.max() == 29
    assert list(data.user_ids[:3]) == [1, 2, 3] and data.item_titles[0] == "Movie 1 (1995)"
    first = (folder / "u.data").read_text().splitlines()[0].split("\t")
    assert (data.user_ids[data.ratings.users[0]], data.item_ids[data.ratings.items[0]]) == (
        int(first[0]),
        int(first[1]),
    )
    assert data.ratings.ratings[0] == float(first[2])


@pytest.mark.parametrize(
    "file, line, replacement, message",
    [
        ("u.data", 3, "1\t2\t3", r"u.data, line 3: expected 4 fields"),
        ("u.data", 5, "1\tx\t3\t880000000", r"u.data, line 5: item id must be an integer. Received: 'x'"),
        ("u.data", 7, "1\t2\t6\t880000000", r"u.data, line 7: rating 6 is outside the rating scale \[1, 5\]"),
        ("u.data", 8, "1\t2\t0\t880000000", r"u.data, line 8: rating 0 is outside"),
        ("u.data", 9, "1\t99\t3\t880000000", r"u.data, line 9: item id 99 is not in u.item"),
        (
            "u.item",
            4,
            "4|Movie 4 (1995)|01-Jan-1995||http://x|0|2|0|0|0|0|0",
            r"u.item, line 4: genre flags must be 0 or 1",
        ),
        ("u.item", 6, "6|Movie|x", r"u.item, line 6: expected 12 fields"),
        ("u.item", 7, "1|Movie 7 (1995)|01-Jan-1995||http://x|0|1|0|0|0|0|0", r"u.item, line 7: duplicate movie id 1"),
    ],
)
def test_malformed_rows_name_file_and_line(folder, file, line, replacement, message):
    lines = (folder / file).read_text(encoding="latin-1").splitlines()
    lines[line - 1] = replacement
    (folder / file).write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(DataError, match=message):
        data_lib.load_grouplens(folder)


def test_missing_files_and_latin1_titles(folder):
    item_file = folder / "u.item"
    item_file.write_bytes(item_file.read_bytes().replace(b"Movie 2 ", "Cin\xe9ma 2 ".encode("latin-1")))
    assert data_lib.load_grouplens(folder).item_titles[1] == "Cinéma 2 (1995)"
    (folder / "u.genre").unlink()
    with pytest.raises(DataError, match=r"lacks \['u.genre'\]"):
        data_lib.load_grouplens(folder)


def test_splits_are_seeded_and_disjoint(folder):
    data = data_lib.load_grouplens(folder)
    train, test = data.split(0.2, seed=3)
    again, _ = data.split(0.2, seed=3)
    other, _ = data.split(0.2, seed=4)
    assert len(test) == 90 and len(train) == 360
    np.testing.assert_array_equal(train.items, again.items)
    assert not np.array_equal(train.items, other.items)
    pairs = lambda r: set(zip(r.users.tolist(), r.items.tolist()))
    assert not pairs(train) & pairs(test) and pairs(train) | pairs(test) == pairs(data.ratings)
    folds = data.kfold(5, seed=0)
    assert len(folds) == 5 and sum(len(test) for _, test in folds) == 450
    assert set().union(*(pairs(test) for _, test in folds)) == pairs(data.ratings)
    with pytest.raises(ValueError, match=r"Expected a fraction in \(0, 1\). Received: test_size=1.5"):
        data.split(1.5)
    with pytest.raises(ValueError, match="num_folds=1"):
        data.kfold(1)


def test_pipeline_and_features(folder):
    data = data_lib.load_grouplens(folder)
    batch, ratings = next(iter(data.pipeline(data.ratings, 8)))
    assert set(batch) == {"user", "item", "aspects"} and batch["aspects"].shape == (8, 6)
    np.testing.assert_array_equal(batch["aspects"].numpy(), data.item_aspects[data.ratings.items[:8]])
    np.testing.assert_array_equal(ratings.numpy(), data.ratings.ratings[:8])
    order = lambda seed: np.concatenate(
        [b["item"].numpy() for b, _ in data.pipeline(data.ratings, 64, shuffle=True, seed=seed)]
    )
    np.testing.assert_array_equal(order(1), order(1))
    with pytest.raises(ValueError, match="batch_size=0"):
        data.pipeline(data.ratings, 0)


def test_encode_rejects_unknown_ids_and_subsample(folder):
    data = data_lib.load_grouplens(folder)
    users, items = data.encode([1, 30], [40, 1])
    assert users.tolist() == [0, 29] and items.tolist() == [39, 0]
    with pytest.raises(ValueError, match=r"Unknown user id 31: not in the data set \(30 users with ids 1..30\)"):
        data.encode([31], [1])
    with pytest.raises(ValueError, match="Unknown item id 0"):
        data.encode([1], [0])
    small = data.subsample_users(5, seed=0)
    assert small.num_users == 5 and small.ratings.users.max() == 4 and len(small.ratings) == 75
    assert small.num_items == 40
    kept = set(small.user_ids.tolist())
    original = {
        (data.user_ids[u], i, r)
        for u, i, r in zip(data.ratings.users, data.ratings.items, data.ratings.ratings)
        if data.user_ids[u] in kept
    }
    assert {
        (small.user_ids[u], i, r) for u, i, r in zip(small.ratings.users, small.ratings.items, small.ratings.ratings)
    } == original


def _fake_tfds(genres, ratings=(4.0, 2.0, 5.0), users=(b"2", b"1", b"2")):
    return tf.data.Dataset.from_tensor_slices(
        {
            "user_id": tf.constant(users),
            "movie_id": tf.constant([b"10", b"3", b"3"]),
            "movie_title": tf.constant([b"Ten (1995)", b"Three (1994)", b"Three (1994)"]),
            "user_rating": tf.constant(ratings, tf.float32),
            "movie_genres": tf.ragged.constant(genres, dtype=tf.int64),
            "timestamp": tf.constant([1, 2, 3], tf.int64),
        }
    )


def test_tfds_reader_with_mocked_load(monkeypatch):
    import tensorflow_datasets as tfds

    calls = []

    def fake_load(name, **kwargs):
        calls.append((name, kwargs))
        # movie 10: Action, Drama; movie 3: Unknown (not an aspect) only.
        return _fake_tfds([[0, 7], [17], [17]])

    monkeypatch.setattr(tfds, "load", fake_load)
    data = data_lib.load_tfds(data_dir="/somewhere")
    assert calls == [("movielens/100k-ratings", {"split": "train", "data_dir": "/somewhere", "download": True})]
    assert data.aspect_names == ("Action", "Drama")  # genres no item has, and Unknown, are dropped
    assert list(data.user_ids) == [1, 2] and list(data.item_ids) == [3, 10]
    np.testing.assert_array_equal(data.item_aspects, [[0, 0], [1, 1]])
    assert data.item_titles == ("Three (1994)", "Ten (1995)")
    np.testing.assert_array_equal(data.ratings.users, [1, 0, 1])
    np.testing.assert_array_equal(data.ratings.items, [1, 0, 0])


def test_tfds_reader_rejects_bad_rows(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(tfds, "load", lambda name, **kwargs: _fake_tfds([[0], [1], [2]], ratings=(4.0, 9.0, 1.0)))
    with pytest.raises(DataError, match=r"TFDS `movielens/100k-ratings`, row 1: rating 9 is outside"):
        data_lib.load_tfds()
    monkeypatch.setattr(tfds, "load", lambda name, **kwargs: _fake_tfds([[0], [1], [2]], users=(b"1", b"u7", b"2")))
    with pytest.raises(DataError, match="row 1: user_id must be an integer id. Received: b'u7'"):
        data_lib.load_tfds()


def test_failed_tfds_download_is_a_clear_error(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(name, **kwargs):
        raise ConnectionError("Failed to resolve 'files.grouplens.org'")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(
        DataError,
        match=r"could not be loaded through TensorFlow Datasets \(ConnectionError: Failed to "
        r"resolve.*needs network access.*load_grouplens",
    ):
        data_lib.load_tfds()


def test_real_movielens_100k():
    data = data_lib.load_grouplens(ml100k_or_skip())
    assert (len(data.ratings), data.num_users, data.num_items, data.num_aspects) == (100000, 943, 1682, 18)
    assert "unknown" not in data.aspect_names and data.aspect_names[0] == "Action"
    assert int(np.sum(data.item_aspects.sum(axis=1) == 0)) == 2  # two movies are listed only as `unknown`
    assert data.ratings.ratings.min() == 1 and data.ratings.ratings.max() == 5
    assert data.item_titles[0] == "Toy Story (1995)"
