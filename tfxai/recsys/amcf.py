"""AMCF: attentive multitask collaborative filtering (Pan et al., IJCAI 2020, Sec. 3).

AMCF wraps a latent-factor base model `f` (`SVD`, `NCF`, `FM`) with user embedding `q` and item
embedding `u`, and maps `u` onto `m` learned aspect embeddings `ψ_1..ψ_m`:

    a = softmax(MLP(stop_gradient(u)))            attention over the aspects
    v̂ = Σ_k s_k a_k ψ_k                           the aspect projection of u (Sec. 3.4)
    L = L_pred + λ · mean ‖v̂ − stop_gradient(u)‖₂ (Sec. 3.5)

`stop_gradient(u)` is the paper's gradient shielding: the interpretation loss never updates the
item embedding (nor anything else of the base model), so the rating predictions are the base
model's. Explanations (Sec. 3.6) are debiased base predictions for virtual items:
general preference `p̂_k = f(q, ψ_k)`, specific preference on item j `p̂_jk = f(q, a_jk ψ_k)`.

Notes (METHODS §9, "AMCF attention"): by default the attention is the authors' form, a softmax
over all `m` aspects whose absent aspects' embeddings are zeroed (`s_k = 0`), so the weights of an
item's own aspects need not sum to 1 (`mask_attention=False`); `mask_attention=True` renormalises
the softmax over the item's aspects. Items without aspects have `v̂ = 0` and zero preferences in
both modes. The aspect embeddings are L2-normalised (the paper assumes normalised aspect vectors,
as the authors' code does). L_pred is the compiled loss (mean squared error in tfxai; the paper
writes RMSE, the authors' code sums squared errors).

Reference:
    [Pan et al., 2020. Explainable Recommendation via Interpretable Feature Mapping and
    Evaluation of Explainability](https://arxiv.org/abs/2007.06133).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from tfxai.recsys import models as models_lib

_NEGATIVE = -1e9  # masked-out attention logit: exp underflows to exactly 0


@keras.saving.register_keras_serializable(package="tfxai")
class AspectEmbedding(keras.layers.Layer):
    """Aspect embeddings `ψ_1..ψ_m ∈ R^n`; maps aspect weights `w [B, m]` to `Σ_k w_k ψ_k [B, n]`.

    Args:
        num_aspects: number of aspects `m`.
        dim: embedding dimension `n` (the base model's).
        normalize: L2-normalise every `ψ_k` (Sec. 3.4: "normalized aspect vectors"). Defaults to `True`.
    """

    def __init__(self, num_aspects: int, dim: int, *, normalize: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_aspects = models_lib._positive_int(num_aspects, "num_aspects")
        self.dim = models_lib._positive_int(dim, "dim")
        self.normalize = bool(normalize)
        # N(0, 1) as the authors' code; with `normalize` the scale only sets the effective step size.
        self.embeddings = self.add_weight(
            shape=(num_aspects, dim), initializer=keras.initializers.RandomNormal(stddev=1.0), name="embeddings"
        )
        self.built = True

    @property
    def vectors(self):
        """`ψ`, `[m, n]`."""
        if not self.normalize:
            return self.embeddings
        norms = ops.sqrt(ops.sum(ops.square(self.embeddings), axis=-1, keepdims=True))
        return self.embeddings / ops.maximum(norms, 1e-12)

    def call(self, aspect_weights):
        return ops.matmul(aspect_weights, self.vectors)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_aspects": self.num_aspects, "dim": self.dim, "normalize": self.normalize}


@keras.saving.register_keras_serializable(package="tfxai")
class AspectAttention(keras.layers.Layer):
    """Attention of an item over the aspects: `a = softmax(MLP(u))`, `[B, n] -> [B, m]`.

    Args:
        num_aspects: number of aspects `m`.
        dim: input dimension `n`.
        hidden_units: widths of the hidden layers. Defaults to `(50, 25)` (the authors' code).
        activation: activation of the hidden layers. Defaults to `None` (linear, the authors' code).
        mask_attention: softmax over the item's aspects only (`True`) or over all aspects, the
            authors' form (`False`). Defaults to `False`.

    Call arguments:
        item_vectors: `[B, n]` item embeddings (AMCF passes them through `stop_gradient`).
        aspects: `[B, m]` multi-hot aspects of the items.

    Returns:
        `[B, m]` attention. Unmasked: sums to 1 over all aspects. Masked: sums to 1 over the
        item's aspects, 0 elsewhere, all 0 for an item without aspects (never NaN).
    """

    def __init__(
        self,
        num_aspects: int,
        dim: int,
        *,
        hidden_units: Sequence[int] = (50, 25),
        activation: str | None = None,
        mask_attention: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_aspects = models_lib._positive_int(num_aspects, "num_aspects")
        self.dim = models_lib._positive_int(dim, "dim")
        self.hidden_units = tuple(models_lib._positive_int(units, "hidden_units") for units in hidden_units)
        self.activation = activation
        self.mask_attention = bool(mask_attention)
        widths = (dim, *self.hidden_units, num_aspects)
        self.dense_layers = [
            keras.layers.Dense(
                units, activation=activation if k < len(self.hidden_units) else None, name=f"attention_{k}"
            )
            for k, units in enumerate(widths[1:])
        ]
        for layer, fan_in in zip(self.dense_layers, widths):
            layer.build((None, fan_in))
        self.built = True

    def call(self, item_vectors, aspects):
        logits = item_vectors
        for layer in self.dense_layers:
            logits = layer(logits)
        if not self.mask_attention:
            return ops.softmax(logits, axis=-1)
        present = ops.cast(aspects, logits.dtype) > 0
        masked = ops.softmax(ops.where(present, logits, _NEGATIVE), axis=-1)
        return ops.where(present, masked, 0.0)  # an item without aspects: uniform * 0 = 0

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_aspects": self.num_aspects,
            "dim": self.dim,
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "mask_attention": self.mask_attention,
        }


@keras.saving.register_keras_serializable(package="tfxai")
class AMCF(keras.Model):
    """AMCF around a base latent-factor model: its ratings plus aspect-level explanations.

    Call it like the base model: `{"user": [B], "item": [B], "aspects": [B, m]} -> ratings [B]`.
    Compile with a rating loss (`"mse"`); `compute_loss` adds `λ · L_int` and logs `L_int` as
    `interpretation_loss`.

    Args:
        base: a `tfxai.recsys.models.LatentFactorModel` (`SVD`, `NCF`, `FM`); the model owns it.
        num_aspects: number of aspects `m` (18 genres on MovieLens).
        interpretation_weight: `λ` of Sec. 3.5. Defaults to 0.05 (the paper; the authors' code 0.03).
        attention_units: hidden widths of the attention MLP. Defaults to `(50, 25)`.
        attention_activation: hidden activation of the attention MLP. Defaults to `None` (linear).
        mask_attention: renormalise the attention over the item's aspects. Defaults to `False`
            (the authors' form; see the module notes).
        normalize_aspects: L2-normalise the aspect embeddings. Defaults to `True`.

    Example:

    >>> import numpy as np
    >>> from tfxai.recsys import SVD
    >>> model = AMCF(SVD(num_users=3, num_items=4, dim=8, global_mean=3.5), num_aspects=2)
    >>> inputs = {"user": np.array([0, 1]), "item": np.array([2, 3]),
    ...           "aspects": np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)}
    >>> model(inputs).shape, model.general_preference(inputs["user"]).shape
    (TensorShape([2]), TensorShape([2, 2]))

    Reference:
        Sec. 3.4–3.6 of [Pan et al., 2020](https://arxiv.org/abs/2007.06133).
    """

    def __init__(
        self,
        base: models_lib.LatentFactorModel,
        num_aspects: int,
        *,
        interpretation_weight: float = 0.05,
        attention_units: Sequence[int] = (50, 25),
        attention_activation: str | None = None,
        mask_attention: bool = False,
        normalize_aspects: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(base, models_lib.LatentFactorModel):
            raise TypeError(
                "Invalid value for argument `base`. Expected a tfxai.recsys.models.LatentFactorModel "
                f"(SVD, NCF, FM). Received: base={type(base).__name__}"
            )
        if not interpretation_weight >= 0:
            raise ValueError(
                "Invalid value for argument `interpretation_weight`. Expected a float >= 0. "
                f"Received: interpretation_weight={interpretation_weight!r}"
            )
        self.base = base
        self.num_aspects = models_lib._positive_int(num_aspects, "num_aspects")
        self.interpretation_weight = float(interpretation_weight)
        self.aspect_embedding = AspectEmbedding(
            num_aspects, base.dim, normalize=normalize_aspects, name="aspect_embedding"
        )
        self.attention = AspectAttention(
            num_aspects,
            base.dim,
            hidden_units=attention_units,
            activation=attention_activation,
            mask_attention=mask_attention,
            name="attention",
        )
        self.interpretation_tracker = keras.metrics.Mean(name="interpretation_loss")
        self.built = True  # every weight exists now (the base builds its own in __init__)

    def call(self, inputs):
        return self.base(inputs)

    def _aspects(self, aspects):
        if aspects is None:
            raise ValueError("AMCF needs the input 'aspects': the items' multi-hot aspects [B, num_aspects].")
        aspects = ops.cast(aspects, self.compute_dtype)
        if aspects.shape[-1] is not None and aspects.shape[-1] != self.num_aspects:
            raise ValueError(
                f"Invalid input 'aspects'. Expected [B, {self.num_aspects}]. Received shape {aspects.shape}"
            )
        return aspects

    def interpret(self, items, aspects) -> dict:
        """The aspect projection of items (Sec. 3.4).

        Args:
            items: `[B]` item indices.
            aspects: `[B, m]` their multi-hot aspects `s`.

        Returns:
            A dict of `attention` `a [B, m]` (see `AspectAttention`), `weights` `s ⊙ a [B, m]` (the
            coefficients of `v̂`, 0 for absent aspects), `aspect_vectors` `v̂ [B, n]` and
            `item_vectors` `u [B, n]` (gradient-shielded: `stop_gradient` applied).
        """
        aspects = self._aspects(aspects)
        item_vectors = ops.stop_gradient(self.base.item_vectors(items, aspects))
        attention = self.attention(item_vectors, aspects)
        weights = aspects * attention
        return {
            "attention": attention,
            "weights": weights,
            "aspect_vectors": self.aspect_embedding(weights),
            "item_vectors": item_vectors,
        }

    def interpretation_loss(self, inputs):
        """`L_int = mean_b ‖v̂_b − stop_gradient(u_b)‖₂` (Sec. 3.5), without the weight λ."""
        _, items, aspects = models_lib.split_inputs(inputs)
        parts = self.interpret(items, aspects)
        difference = parts["aspect_vectors"] - parts["item_vectors"]
        # sqrt(x + 1e-12): a finite gradient where v̂ = u exactly.
        return ops.mean(ops.sqrt(ops.sum(ops.square(difference), axis=-1) + 1e-12))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled rating loss `L_pred` plus `λ · L_int` (gradient-shielded)."""
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        interpretation = self.interpretation_loss(x)
        self.interpretation_tracker.update_state(interpretation)
        return loss + self.interpretation_weight * interpretation

    def general_preference(self, users):
        """User general preference per aspect, `p̂_ik = f(q_i, ψ_k)` without biases (Sec. 3.6), `[B, m]`."""
        user_vectors = self.base.user_vectors(users)  # [B, n]
        return self.base.preference(user_vectors[:, None, :], self.aspect_embedding.vectors[None])  # [B, m]

    def specific_preference(self, users, items, aspects):
        """Preference of user i for each aspect of item j, `p̂_ijk = f(q_i, a_jk s_jk ψ_k)` (Sec. 3.6), `[B, m]`.

        Zero for the aspects item j lacks (the virtual item is the zero vector).
        """
        weights = self.interpret(items, aspects)["weights"]  # [B, m]
        virtual_items = weights[:, :, None] * self.aspect_embedding.vectors[None]  # [B, m, n]
        user_vectors = self.base.user_vectors(users)[:, None, :]  # [B, 1, n]
        return self.base.preference(user_vectors, virtual_items)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "base": keras.saving.serialize_keras_object(self.base),
            "num_aspects": self.num_aspects,
            "interpretation_weight": self.interpretation_weight,
            "attention_units": list(self.attention.hidden_units),
            "attention_activation": self.attention.activation,
            "mask_attention": self.attention.mask_attention,
            "normalize_aspects": self.aspect_embedding.normalize,
        }

    @classmethod
    def from_config(cls, config: dict) -> AMCF:
        config = dict(config)
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)
