"""AMCF: gradient shielding, attention, items without aspects, preferences, loss and serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxai.recsys import AMCF, SVD, AspectAttention, build_base

NUM_ASPECTS = 4
INPUTS = {
    "user": np.array([0, 1, 2, 1]),
    "item": np.array([0, 1, 2, 3]),
    "aspects": np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], np.float32),  # item 2: none
}
RATINGS = np.array([4.0, 2.0, 5.0, 3.0], np.float32)


def _amcf(base="svd", **kwargs):
    keras.utils.set_random_seed(0)
    return AMCF(build_base(base, 3, 4, 6, num_aspects=NUM_ASPECTS, global_mean=3.5), NUM_ASPECTS, **kwargs)


def _values(variables):
    return {v.path: v.numpy().copy() for v in variables}


def test_interpretation_loss_alone_never_moves_the_base_model():
    model = _amcf()
    before = _values(model.trainable_variables)
    with tf.GradientTape() as tape:
        loss = model.interpretation_loss(INPUTS)
    gradients = tape.gradient(loss, model.trainable_variables)
    by_path = {v.path: g for v, g in zip(model.trainable_variables, gradients)}
    assert all(by_path[v.path] is None for v in model.base.trainable_variables)
    optimizer = keras.optimizers.SGD(0.5)
    optimizer.apply(
        [g if g is not None else tf.zeros_like(v) for v, g in zip(model.trainable_variables, gradients)],
        model.trainable_variables,
    )
    after = _values(model.trainable_variables)
    for path in before:
        moved = not np.array_equal(before[path], after[path])
        assert moved == ("aspect_embedding" in path or "attention" in path), path
    np.testing.assert_array_equal(
        before[model.base.item_embedding.embeddings.path], model.base.item_embedding.embeddings.numpy()
    )


def test_training_step_updates_the_base_exactly_as_the_base_alone():
    """A fit step on L_pred + λ·L_int leaves the base's weights as a step on L_pred does on the bare base."""
    model = _amcf(interpretation_weight=10.0)
    keras.utils.set_random_seed(0)
    bare = build_base("svd", 3, 4, 6, global_mean=3.5)
    for compiled in (model, bare):
        compiled.compile(keras.optimizers.SGD(0.1), loss="mse")
        compiled.train_on_batch(INPUTS, RATINGS)
    for mine, theirs in zip(model.base.trainable_variables, bare.trainable_variables):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6, err_msg=mine.path)
    assert (
        model.compute_loss(INPUTS, RATINGS, model(INPUTS)).numpy()
        > bare.compute_loss(INPUTS, RATINGS, bare(INPUTS)).numpy()
    )  # the same predictions, plus λ·L_int


def test_compute_loss_is_mse_plus_weighted_interpretation_loss():
    model = _amcf(interpretation_weight=0.3)
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    predictions = model(INPUTS)
    expected = np.mean((predictions.numpy() - RATINGS) ** 2) + 0.3 * model.interpretation_loss(INPUTS).numpy()
    np.testing.assert_allclose(model.compute_loss(INPUTS, RATINGS, predictions).numpy(), expected, rtol=1e-5)
    parts = model.interpret(INPUTS["item"], INPUTS["aspects"])
    distances = np.linalg.norm(parts["aspect_vectors"].numpy() - parts["item_vectors"].numpy(), axis=-1)
    np.testing.assert_allclose(model.interpretation_loss(INPUTS).numpy(), distances.mean(), rtol=1e-5)


@pytest.mark.parametrize("mask_attention", [False, True])
def test_attention_sums_to_one_and_ignores_absent_aspects(mask_attention):
    model = _amcf(mask_attention=mask_attention)
    parts = model.interpret(INPUTS["item"], INPUTS["aspects"])
    attention, weights = parts["attention"].numpy(), parts["weights"].numpy()
    absent = INPUTS["aspects"] == 0
    assert np.all(np.isfinite(attention)) and np.all(attention >= 0)
    assert np.all(weights[absent] == 0)  # absent aspects never contribute to v̂
    has_aspects = INPUTS["aspects"].sum(axis=1) > 0
    if mask_attention:  # renormalised over the item's own aspects
        np.testing.assert_allclose(attention[has_aspects].sum(axis=1), 1.0, rtol=1e-6)
        assert np.all(attention[absent] == 0) and np.all(attention[~has_aspects] == 0)
        np.testing.assert_allclose(weights, attention)
    else:  # the authors' form: softmax over all aspects, absent aspects' embeddings zeroed
        np.testing.assert_allclose(attention.sum(axis=1), 1.0, rtol=1e-6)
        assert np.all(attention > 0)
        np.testing.assert_allclose(weights, attention * INPUTS["aspects"])
    np.testing.assert_allclose(
        parts["aspect_vectors"].numpy(), weights @ model.aspect_embedding.vectors.numpy(), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("mask_attention", [False, True])
@pytest.mark.parametrize("base", ["svd", "ncf", "fm"])
def test_items_without_aspects_give_zeros_never_nan(base, mask_attention):
    model = _amcf(base, mask_attention=mask_attention)
    model.base.item_embedding.embeddings.assign(tf.zeros((4, 6)))  # v̂ = u = 0 for item 2: the norm's kink
    parts = model.interpret(INPUTS["item"], INPUTS["aspects"])
    np.testing.assert_array_equal(parts["aspect_vectors"].numpy()[2], 0.0)
    specific = model.specific_preference(INPUTS["user"], INPUTS["item"], INPUTS["aspects"]).numpy()
    assert np.all(np.isfinite(specific))
    np.testing.assert_array_equal(specific[2], 0.0)
    np.testing.assert_array_equal(specific[INPUTS["aspects"] == 0], 0.0)
    with tf.GradientTape() as tape:
        loss = model.interpretation_loss(INPUTS)
    gradients = [g for g in tape.gradient(loss, model.trainable_variables) if g is not None]
    assert np.isfinite(loss.numpy()) and all(np.all(np.isfinite(tf.convert_to_tensor(g).numpy())) for g in gradients)


def test_preferences_of_an_svd_base_by_hand():
    model = _amcf()
    q = model.base.user_embedding.embeddings.numpy()
    raw = model.aspect_embedding.embeddings.numpy()
    psi = raw / np.linalg.norm(raw, axis=1, keepdims=True)  # normalised aspect embeddings
    np.testing.assert_allclose(model.general_preference(np.array([0, 2])).numpy(), q[[0, 2]] @ psi.T, rtol=1e-5)
    weights = model.interpret(INPUTS["item"], INPUTS["aspects"])["weights"].numpy()
    expected = weights * (q[INPUTS["user"]] @ psi.T)  # f(q, a_k s_k ψ_k) = a_k s_k (q·ψ_k)
    np.testing.assert_allclose(
        model.specific_preference(INPUTS["user"], INPUTS["item"], INPUTS["aspects"]).numpy(),
        expected,
        rtol=1e-5,
        atol=1e-7,
    )


def test_fit_logs_the_interpretation_loss_and_round_trips(tmp_path):
    model = _amcf(
        "ncf", attention_units=(8,), attention_activation="relu", mask_attention=True, interpretation_weight=0.1
    )
    model.compile(keras.optimizers.Adam(1e-2), loss="mse")
    history = model.fit(INPUTS, RATINGS, epochs=1, batch_size=2, verbose=0)
    assert {"loss", "interpretation_loss"} <= set(history.history)
    restored = AMCF.from_config(model.get_config())
    assert restored.get_config() == model.get_config()
    model.save(tmp_path / "amcf.keras")
    loaded = keras.models.load_model(tmp_path / "amcf.keras")
    assert type(loaded) is AMCF and type(loaded.base).__name__ == "NCF" and loaded.attention.mask_attention
    for method, args in [
        ("general_preference", (INPUTS["user"],)),
        ("specific_preference", (INPUTS["user"], INPUTS["item"], INPUTS["aspects"])),
    ]:
        np.testing.assert_allclose(
            getattr(loaded, method)(*args).numpy(), getattr(model, method)(*args).numpy(), rtol=1e-5, atol=1e-7
        )
    np.testing.assert_allclose(loaded(INPUTS).numpy(), model(INPUTS).numpy(), rtol=1e-6)


def test_aspect_attention_config_round_trip():
    layer = AspectAttention(3, 5, hidden_units=(4,), activation="tanh", mask_attention=True)
    assert AspectAttention.from_config(layer.get_config()).get_config() == layer.get_config()


def test_bad_arguments_and_inputs():
    with pytest.raises(TypeError, match="Expected a tfxai.recsys.models.LatentFactorModel"):
        AMCF(keras.Sequential([keras.layers.Dense(1)]), 3)
    with pytest.raises(ValueError, match="interpretation_weight=-1"):
        _amcf(interpretation_weight=-1)
    with pytest.raises(ValueError, match="Received: num_aspects=0"):
        AMCF(SVD(3, 4, 2), 0)
    model = _amcf()
    with pytest.raises(ValueError, match="AMCF needs the input 'aspects'"):
        model.interpretation_loss({"user": INPUTS["user"], "item": INPUTS["item"]})
    with pytest.raises(ValueError, match=r"Expected \[B, 4\]. Received shape \(4, 3\)"):
        model.interpret(INPUTS["item"], np.zeros((4, 3), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown user index"):
        model.general_preference(np.array([7]))
