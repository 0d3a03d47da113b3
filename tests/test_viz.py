"""Heatmaps: hand-checked percentile clipping, channel aggregation, overlays, PNG grids, TensorBoard."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from tfxai import viz


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 8, 10, 1)).astype("float32")
    maps = {"A": rng.normal(size=(3, 8, 10, 1)).astype("float32"), "B": rng.normal(size=(3, 8, 10, 1))}
    return images, maps


class TestClipPercentiles:
    def test_hand_checked_values(self):
        # 0..99: q = P80 = 79.2, u = P99 = 98.01 (linear interpolation between order statistics).
        maps = np.stack([np.arange(100.0), 2.0 * np.arange(100.0) - 50.0])  # an affine map gives the same heatmap
        out = viz.clip_percentiles(maps)
        q, u = 79.2, 98.01
        for row in out:
            assert row[:80].max() == 0.0 and row[79] == 0.0  # <= q -> 0
            assert np.all(row[99:] == 1.0)  # >= u -> 1
            np.testing.assert_allclose(row[90], (90 - q) / (u - q), rtol=1e-5)
            np.testing.assert_allclose(row[80], (80 - q) / (u - q), rtol=1e-5)
        assert out.dtype == np.float32 and out.shape == maps.shape

    def test_custom_percentiles_and_constant_map(self):
        out = viz.clip_percentiles(np.array([[0.0, 1.0, 2.0, 3.0, 4.0]]), lower_percentile=25, upper_percentile=75)
        np.testing.assert_allclose(out, [[0.0, 0.0, 0.5, 1.0, 1.0]])
        np.testing.assert_array_equal(viz.clip_percentiles(np.ones((2, 3, 3))), np.zeros((2, 3, 3)))

    @pytest.mark.parametrize(
        "kwargs, error",
        [
            ({"lower_percentile": 99, "upper_percentile": 80}, "upper_percentile"),
            ({"lower_percentile": -1}, "lower_percentile"),
            ({"upper_percentile": 101}, "upper_percentile"),
        ],
    )
    def test_bad_percentiles(self, kwargs, error):
        with pytest.raises(ValueError, match=error):
            viz.clip_percentiles(np.zeros((1, 4)), **kwargs)

    def test_non_finite(self):
        with pytest.raises(ValueError, match="finite"):
            viz.clip_percentiles(np.array([[0.0, np.nan]]))


class TestReduceChannels:
    def test_sum_and_max_abs(self):
        maps = np.array([[[[1.0, -3.0, 0.5]]]])  # [1, 1, 1, 3]
        assert viz.reduce_channels(maps, "sum")[0, 0, 0] == pytest.approx(-1.5)
        assert viz.reduce_channels(maps, "max_abs")[0, 0, 0] == pytest.approx(3.0)
        assert viz.reduce_channels(maps[..., 0]).shape == (1, 1, 1)  # [B, H, W] kept

    def test_errors(self):
        with pytest.raises(ValueError, match="reduction"):
            viz.reduce_channels(np.zeros((1, 2, 2, 1)), "mean")
        with pytest.raises(ValueError, match=r"\[B, H, W, C\]"):
            viz.reduce_channels(np.zeros((4, 2)))

    def test_heatmap_in_unit_interval(self, batch):
        _, maps = batch
        out = viz.heatmap(maps["A"], channel_reduction="max_abs")
        assert out.shape == (3, 8, 10) and out.min() == 0.0 and out.max() == 1.0
        # about 80 % of the pixels sit at the lower bound
        assert 0.75 <= np.mean(out == 0.0) <= 0.85


class TestOverlay:
    def test_blend(self, batch):
        images, maps = batch
        heat = viz.heatmap(maps["A"])
        out = viz.overlay(images, heat, alpha=0.0)
        np.testing.assert_allclose(out, np.repeat(images, 3, axis=-1), rtol=1e-6)  # alpha 0: the grey image
        full = viz.overlay(images, heat, alpha=1.0, colormap="gray")
        np.testing.assert_allclose(full[..., 0], heat, atol=1e-2)  # gray colour map of the heat itself
        assert out.shape == (3, 8, 10, 3) and out.dtype == np.float32

    def test_errors(self, batch):
        images, _ = batch
        with pytest.raises(ValueError, match="heatmaps"):
            viz.overlay(images, np.full((3, 8, 10), 2.0))
        with pytest.raises(ValueError, match="colormap"):
            viz.overlay(images, np.zeros((3, 8, 10)), colormap="no-such-map")
        with pytest.raises(ValueError, match="alpha"):
            viz.overlay(images, np.zeros((3, 8, 10)), alpha=1.5)


class TestSaveGrid:
    @pytest.mark.parametrize("overlay_alpha", [None, 0.6])
    def test_png_written_and_readable(self, tmp_path, batch, overlay_alpha):
        images, maps = batch
        path = viz.save_grid(
            tmp_path / "sub" / "grid.png", images, maps, overlay_alpha=overlay_alpha, titles=["a", "b", "c"], dpi=50
        )
        assert path.exists()
        png = matplotlib.image.imread(path)
        cell = 1.2 * 50  # pixels per cell
        assert png.ndim == 3 and png.shape[-1] in (3, 4)
        assert png.shape[0] == pytest.approx(3 * cell, abs=2)  # input row + 2 methods
        assert png.shape[1] == pytest.approx(3 * cell + 0.8 * 50, abs=2)
        assert png[..., :3].std() > 0.05  # not blank

    def test_errors(self, tmp_path, batch):
        images, maps = batch
        with pytest.raises(ValueError, match="attributions"):
            viz.save_grid(tmp_path / "x.png", images, {})
        with pytest.raises(ValueError, match="attributions\\['A'\\]"):
            viz.save_grid(tmp_path / "x.png", images, {"A": maps["A"][:2]})
        with pytest.raises(ValueError, match="titles"):
            viz.save_grid(tmp_path / "x.png", images, maps, titles=["a"])


def test_image_summary_writes_event_file(tmp_path, batch):
    images, maps = batch
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        assert viz.image_summary("saliency", images, maps["A"], step=0, max_outputs=2)
    writer.flush()
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(events) == 1
    tags, shapes = [], []
    for record in tf.data.TFRecordDataset(str(events[0])):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            tags.append(value.tag)
            shapes.append(tuple(tf.image.decode_png(tf.make_ndarray(value.tensor)[2]).shape))
    assert tags == ["saliency"] and shapes == [(8, 20, 3)]  # image beside its overlay
    assert not viz.image_summary("saliency", images, maps["A"], step=0)  # no default writer
