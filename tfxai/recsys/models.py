"""Latent-factor rating models: the base models `f` of AMCF (Sec. 3 of the AMCF paper).

Every model takes the inputs `{"user": [B], "item": [B], "aspects": [B, m]}` (0-based indices;
`aspects` is the item's multi-hot `s_j`, used by `FM` as side features and ignored by the others)
and returns the predicted rating `[B]`. A prediction splits into

    r̂_ij = interaction(q_i, u_j) + offset(i, j)

with `q_i = user_vectors(i)` the user embedding, `u_j = item_vectors(j)` the item embedding (the
"general feature" that AMCF maps onto aspects) and `offset` the bias terms. `preference(q, v)` is
the debiased prediction for a virtual item with embedding `v`: `interaction(q, v) − interaction(q, 0)`,
which removes every term that does not depend on the item (user and global biases, and for NCF
the output-layer bias and the user-only part of the MLP). For SVD and FM it is the dot product `q·v`.

An index outside `[0, num_users)` or `[0, num_items)` raises `InvalidArgumentError` naming the
embedding ("Unknown user index ..."); there is no cold-start embedding.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops

INPUT_KEYS = ("user", "item", "aspects")


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid value for argument `{name}`. Expected a positive int. Received: {name}={value!r}")
    return value


def _check_ids(ids, size: int, what: str):
    """Asserts `0 <= ids < size` in the graph, so an unknown id fails with a readable message."""
    ids = tf.convert_to_tensor(ids)
    message = f"Unknown {what} index: expected indices in [0, {size}) (0-based, as RatingsData.encode returns)."
    with tf.control_dependencies(
        [
            tf.debugging.assert_non_negative(ids, message=message),
            tf.debugging.assert_less(ids, tf.cast(size, ids.dtype), message=message),
        ]
    ):
        return tf.identity(ids)


def split_inputs(inputs) -> tuple:
    """`(users, items, aspects)` of a model input dict; `aspects` may be absent (None)."""
    if not isinstance(inputs, dict) or not {"user", "item"} <= set(inputs):
        raise ValueError(
            "Invalid model input. Expected a dict with keys 'user', 'item' and (for AMCF and FM) 'aspects'. "
            f"Received: {type(inputs).__name__} {sorted(inputs) if isinstance(inputs, dict) else ''}"
        )
    return inputs["user"], inputs["item"], inputs.get("aspects")


class LatentFactorModel(keras.Model):
    """Base class of the rating models: `r̂ = interaction(q_i, u_j) + offset(i, j)`.

    Subclasses define `interaction` and `offset` (and may extend `item_vectors`).

    Args:
        num_users: number of users.
        num_items: number of items.
        dim: embedding dimension `n`.
        global_mean: the mean training rating `r̄`, added to every prediction. Defaults to 0.
        embeddings_stddev: standard deviation of the normal initialiser of the user and item
            embeddings (the authors' code: 1.0). Defaults to 0.1.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        dim: int,
        *,
        global_mean: float = 0.0,
        embeddings_stddev: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_users = _positive_int(num_users, "num_users")
        self.num_items = _positive_int(num_items, "num_items")
        self.dim = _positive_int(dim, "dim")
        if not embeddings_stddev > 0:
            raise ValueError(
                "Invalid value for argument `embeddings_stddev`. Expected a positive float. "
                f"Received: embeddings_stddev={embeddings_stddev!r}"
            )
        self.global_mean = float(global_mean)
        self.embeddings_stddev = float(embeddings_stddev)
        initializer = keras.initializers.RandomNormal(stddev=self.embeddings_stddev)
        self.user_embedding = keras.layers.Embedding(
            num_users, dim, embeddings_initializer=initializer, name="user_embedding"
        )
        self.item_embedding = keras.layers.Embedding(
            num_items, dim, embeddings_initializer=initializer, name="item_embedding"
        )
        self.user_embedding.build()
        self.item_embedding.build()
        self.built = True  # subclasses build their extra layers in __init__ too

    def user_vectors(self, users):
        """User embeddings `q_i`, `[B, n]`."""
        return self.user_embedding(_check_ids(users, self.num_users, "user"))

    def item_vectors(self, items, aspects=None):
        """Item embeddings `u_j` (the general features), `[B, n]`."""
        return self.item_embedding(_check_ids(items, self.num_items, "item"))

    def interaction(self, user_vectors, item_vectors):
        """The item-dependent part of the prediction, broadcasting over leading axes: `[..., n] -> [...]`."""
        raise NotImplementedError

    def offset(self, users, items, aspects=None):
        """The bias terms of the prediction, `[B]`."""
        raise NotImplementedError

    def preference(self, user_vectors, item_vectors):
        """Debiased prediction for virtual items: `interaction(q, v) − interaction(q, 0)`, `[...]`."""
        return self.interaction(user_vectors, item_vectors) - self.interaction(
            user_vectors, ops.zeros_like(item_vectors)
        )

    def call(self, inputs):
        users, items, aspects = split_inputs(inputs)
        # Checked once here, before the bias lookups, so an unknown id always fails with our message.
        users, items = _check_ids(users, self.num_users, "user"), _check_ids(items, self.num_items, "item")
        rating = self.interaction(self.user_vectors(users), self.item_vectors(items, aspects))
        return rating + self.offset(users, items, aspects)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_users": self.num_users,
            "num_items": self.num_items,
            "dim": self.dim,
            "global_mean": self.global_mean,
            "embeddings_stddev": self.embeddings_stddev,
        }


class _BiasedModel(LatentFactorModel):
    """Adds learned user and item biases: `offset = r̄ + b_i + b_j`."""

    def __init__(self, num_users: int, num_items: int, dim: int, **kwargs):
        super().__init__(num_users, num_items, dim, **kwargs)
        self.user_bias = keras.layers.Embedding(num_users, 1, embeddings_initializer="zeros", name="user_bias")
        self.item_bias = keras.layers.Embedding(num_items, 1, embeddings_initializer="zeros", name="item_bias")
        self.user_bias.build()
        self.item_bias.build()

    def offset(self, users, items, aspects=None):
        return self.global_mean + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0]


@keras.saving.register_keras_serializable(package="tfxai")
class SVD(_BiasedModel):
    """Biased matrix factorisation ("SVD", Koren et al., 2009): `r̂_ij = r̄ + b_i + b_j + q_i·u_j`.

    Args: see `LatentFactorModel`.

    Example:

    >>> import numpy as np
    >>> model = SVD(num_users=3, num_items=4, dim=2, global_mean=3.5)
    >>> model({"user": np.array([0, 2]), "item": np.array([1, 3])}).shape
    TensorShape([2])

    Reference:
        [Koren et al., 2009](https://doi.org/10.1109/MC.2009.263).
    """

    def interaction(self, user_vectors, item_vectors):
        return ops.sum(user_vectors * item_vectors, axis=-1)


@keras.saving.register_keras_serializable(package="tfxai")
class NCF(LatentFactorModel):
    """Neural collaborative filtering (NeuMF) with a linear output for explicit ratings.

    `r̂_ij = r̄ + w·[q_i ⊙ u_j ; MLP([q_i ; u_j])] + b`: the GMF and MLP branches of He et al.
    (2017) share one user and one item embedding (so AMCF has one item embedding to map), and the
    final sigmoid is replaced by a linear layer, as in the AMCF paper (Sec. 4.2).

    Args:
        num_users, num_items, dim, global_mean, embeddings_stddev: see `LatentFactorModel`.
        hidden_units: widths of the ReLU MLP layers. Defaults to `(64, 32)`.

    Reference:
        [He et al., 2017](https://arxiv.org/abs/1708.05031).
    """

    def __init__(self, num_users: int, num_items: int, dim: int, *, hidden_units: Sequence[int] = (64, 32), **kwargs):
        super().__init__(num_users, num_items, dim, **kwargs)
        self.hidden_units = tuple(_positive_int(units, "hidden_units") for units in hidden_units)
        self.mlp = [
            keras.layers.Dense(units, activation="relu", name=f"mlp_{k}") for k, units in enumerate(self.hidden_units)
        ]
        self.output_layer = keras.layers.Dense(1, name="output")
        widths = (2 * dim, *self.hidden_units)
        for layer, fan_in in zip(self.mlp, widths):
            layer.build((None, fan_in))
        self.output_layer.build((None, dim + widths[-1]))

    def interaction(self, user_vectors, item_vectors):
        # Broadcast q [..., n] and v [..., n] to one shape, as the concatenation needs.
        zeros = ops.zeros_like(user_vectors * item_vectors)
        user_vectors, item_vectors = user_vectors + zeros, item_vectors + zeros
        hidden = ops.concatenate([user_vectors, item_vectors], axis=-1)
        for layer in self.mlp:
            hidden = layer(hidden)
        return self.output_layer(ops.concatenate([user_vectors * item_vectors, hidden], axis=-1))[..., 0]

    def offset(self, users, items, aspects=None):
        return ops.full(ops.shape(users), self.global_mean)

    def get_config(self) -> dict:
        return {**super().get_config(), "hidden_units": list(self.hidden_units)}


@keras.saving.register_keras_serializable(package="tfxai")
class FM(_BiasedModel):
    """Factorisation machine (Rendle, 2010) over user, item and the item's aspects as features.

    The feature vector is one-hot user, one-hot item and the item's aspects `s_j / max(|s_j|, 1)`
    (a set feature normalised to sum 1). The second-order FM then splits exactly into
    `r̂_ij = r̄ + b_i + b_j + w·x_j + q_i·u_j + pairs(item side)` with the item embedding
    `u_j = v_j + Σ_k x_jk w_k` (the item factor plus its aspect factors) and `pairs` the item-side
    pairwise interactions, which do not depend on the user. With `num_item_features=0` the FM is
    biased MF.

    Args:
        num_users, num_items, dim, global_mean, embeddings_stddev: see `LatentFactorModel`.
        num_item_features: number of item side features (the aspects, `m`). Defaults to 0.

    Reference:
        [Rendle, 2010](https://doi.org/10.1109/ICDM.2010.127).
    """

    def __init__(self, num_users: int, num_items: int, dim: int, *, num_item_features: int = 0, **kwargs):
        super().__init__(num_users, num_items, dim, **kwargs)
        if isinstance(num_item_features, bool) or not isinstance(num_item_features, int) or num_item_features < 0:
            raise ValueError(
                "Invalid value for argument `num_item_features`. Expected a non-negative int. "
                f"Received: num_item_features={num_item_features!r}"
            )
        self.num_item_features = num_item_features
        if num_item_features:
            initializer = keras.initializers.RandomNormal(stddev=self.embeddings_stddev)
            self.feature_factors = self.add_weight(
                shape=(num_item_features, dim), initializer=initializer, name="feature_embedding"
            )
            self.feature_bias = self.add_weight(shape=(num_item_features,), initializer="zeros", name="feature_bias")

    def _features(self, aspects):
        if aspects is None:
            raise ValueError("FM with item features needs the input 'aspects' [B, num_item_features].")
        aspects = ops.cast(aspects, self.compute_dtype)
        return aspects / ops.maximum(ops.sum(aspects, axis=-1, keepdims=True), 1.0)

    def item_vectors(self, items, aspects=None):
        vectors = super().item_vectors(items)
        if not self.num_item_features:
            return vectors
        return vectors + ops.matmul(self._features(aspects), self.feature_factors)

    def interaction(self, user_vectors, item_vectors):
        return ops.sum(user_vectors * item_vectors, axis=-1)

    def offset(self, users, items, aspects=None):
        offset = super().offset(users, items)
        if not self.num_item_features:
            return offset
        features = self._features(aspects)
        item_factor = self.item_embedding(items)
        side = ops.matmul(features, self.feature_factors)
        # pairs among {item, aspects} = item·side + ½(‖side‖² − Σ_k x_k² ‖w_k‖²)
        pairs = ops.sum(item_factor * side, axis=-1) + 0.5 * (
            ops.sum(side * side, axis=-1)
            - ops.matmul(features * features, ops.sum(self.feature_factors * self.feature_factors, axis=-1))
        )
        return offset + ops.matmul(features, self.feature_bias) + pairs

    def get_config(self) -> dict:
        return {**super().get_config(), "num_item_features": self.num_item_features}


BASES = {"svd": SVD, "ncf": NCF, "fm": FM}


def build_base(base: str, num_users: int, num_items: int, dim: int, *, num_aspects: int = 0, **kwargs):
    """A base model by name (`"svd"`, `"ncf"`, `"fm"`); FM gets the `num_aspects` aspects as item features.

    Other keyword arguments (`global_mean`, `embeddings_stddev`, `name`, ...) go to the model.
    """
    if base not in BASES:
        raise ValueError(f"Unknown base model. Expected one of {sorted(BASES)}. Received: base={base!r}")
    if base == "fm":
        kwargs["num_item_features"] = num_aspects
    return BASES[base](num_users, num_items, dim, **kwargs)
