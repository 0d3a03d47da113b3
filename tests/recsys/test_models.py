"""Base latent-factor models: closed forms, debiased preferences, serialization and bad ids."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxai.recsys import models

INPUTS = {
    "user": np.array([0, 2, 1]),
    "item": np.array([3, 0, 1]),
    "aspects": np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]], np.float32),
}


def _build(name, **kwargs):
    keras.utils.set_random_seed(0)
    return models.build_base(name, 3, 4, 5, num_aspects=3, global_mean=3.5, **kwargs)


def _weight(model, path_end):
    return next(v for v in model.weights if v.path.endswith(path_end)).numpy()


def test_svd_closed_form():
    model = _build("svd")
    model.user_bias.embeddings.assign([[0.1], [0.2], [0.3]])
    model.item_bias.embeddings.assign([[-0.1], [0.0], [0.1], [0.2]])
    q, v = _weight(model, "user_embedding/embeddings"), _weight(model, "item_embedding/embeddings")
    expected = [
        3.5 + b_u + b_i + q[u] @ v[i] for u, i, b_u, b_i in [(0, 3, 0.1, 0.2), (2, 0, 0.3, -0.1), (1, 1, 0.2, 0.0)]
    ]
    np.testing.assert_allclose(model(INPUTS).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(model.preference(q[:1], v[3:4]).numpy(), [q[0] @ v[3]], rtol=1e-5)


def test_fm_equals_the_pairwise_formula():
    model = _build("fm")
    model.feature_bias.assign([0.3, -0.2, 0.1])
    x_user, x_item = np.eye(3), np.eye(4)
    factors = np.concatenate(
        [
            _weight(model, "user_embedding/embeddings"),
            _weight(model, "item_embedding/embeddings"),
            _weight(model, "feature_embedding"),
        ]
    )
    linear = np.concatenate([np.zeros(7), [0.3, -0.2, 0.1]])
    expected = []
    for user, item, aspects in zip(INPUTS["user"], INPUTS["item"], INPUTS["aspects"]):
        x = np.concatenate([x_user[user], x_item[item], aspects / max(aspects.sum(), 1)])
        pairs = sum(x[a] * x[b] * factors[a] @ factors[b] for a in range(len(x)) for b in range(a + 1, len(x)))
        expected.append(3.5 + linear @ x + pairs)  # user and item biases are zero-initialised
    np.testing.assert_allclose(model(INPUTS).numpy(), expected, rtol=1e-4, atol=1e-6)
    q = model.user_vectors(INPUTS["user"])
    u = model.item_vectors(INPUTS["item"], INPUTS["aspects"])
    np.testing.assert_allclose(model.preference(q, u).numpy(), np.sum(q * u, axis=-1), rtol=1e-5)


def test_ncf_preference_is_debiased_and_broadcasts():
    model = _build("ncf", hidden_units=(8, 4))
    q = model.user_vectors(np.array([0, 1]))[:, None, :]  # [2, 1, n]
    virtual = tf.random.normal((1, 3, 5))  # [1, m, n]
    preference = model.preference(q, virtual)
    assert preference.shape == (2, 3)
    np.testing.assert_allclose(model.preference(q, tf.zeros((1, 3, 5))).numpy(), 0.0, atol=1e-7)
    ratings = model(INPUTS).numpy()
    assert ratings.shape == (3,) and np.all(np.isfinite(ratings))


@pytest.mark.parametrize("name", ["svd", "ncf", "fm"])
def test_config_and_keras_file_round_trip(tmp_path, name):
    model = _build(name)
    restored = models.BASES[name].from_config(model.get_config())
    assert restored.get_config() == model.get_config()
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")  # no custom_objects
    assert type(loaded) is models.BASES[name]
    np.testing.assert_allclose(loaded(INPUTS).numpy(), model(INPUTS).numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("user", [3], r"Unknown user index: expected indices in \[0, 3\)"),
        ("item", [-1], r"Unknown item index: expected indices in \[0, 4\)"),
    ],
)
def test_unknown_ids_fail_with_a_clear_error(key, value, message):
    model = _build("svd")
    inputs = {"user": np.array([0]), "item": np.array([0]), key: np.array(value)}
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model(inputs)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.predict(inputs, verbose=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"Expected a positive int. Received: dim=0"):
        models.SVD(3, 4, 0)
    with pytest.raises(ValueError, match="embeddings_stddev=0"):
        models.SVD(3, 4, 2, embeddings_stddev=0)
    with pytest.raises(
        ValueError, match=r"Unknown base model. Expected one of \['fm', 'ncf', 'svd'\]. Received: base='mf'"
    ):
        models.build_base("mf", 3, 4, 2)
    with pytest.raises(ValueError, match="Expected a dict with keys 'user', 'item'"):
        models.SVD(3, 4, 2)(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="FM with item features needs the input 'aspects'"):
        _build("fm")({"user": np.array([0]), "item": np.array([0])})
