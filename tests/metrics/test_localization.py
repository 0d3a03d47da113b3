"""Localization metrics on hand-made maps and boxes (values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tfxai.metrics.localization import (
    box_masks,
    concentration,
    energy_game,
    localization,
    localization_metrics,
    positive_percentage,
)

BOX = [[2, 2, 4, 5]]  # rows 2-3, columns 2-4: 6 pixels of a 6x6 map


def _map(*cells):
    """A 6x6 map `[1, 6, 6]` with the given `(row, col, value)` cells, zero elsewhere."""
    out = np.zeros((1, 6, 6))
    for r, c, v in cells:
        out[0, r, c] = v
    return out


class TestBoxMasks:
    def test_mask(self):
        mask = box_masks(BOX + [[0, 0, 6, 6]], 6, 6)
        assert mask.shape == (2, 6, 6) and mask.dtype == bool
        assert mask[0].sum() == 6 and mask[0, 2:4, 2:5].all() and mask[1].all()

    @pytest.mark.parametrize("boxes", [[[0, 0, 7, 3]], [[2, 2, 2, 4]], [[-1, 0, 2, 2]], [[0, 0, 2]], [[0.5, 0, 2, 2]]])
    def test_bad_boxes(self, boxes):
        with pytest.raises(ValueError, match="boxes"):
            box_masks(boxes, 6, 6)


class TestLocalization:
    def test_exactly_the_box_is_one(self):
        maps = np.zeros((1, 6, 6))
        maps[0, 2:4, 2:5] = 0.3
        assert localization(maps, BOX)[0] == pytest.approx(1.0)

    def test_positive_outside_and_missing_inside(self):
        # 4 of 6 box pixels positive, 2 positive outside, 1 negative outside: 4 / (6 + 2)
        maps = _map((2, 2, 1), (2, 3, 1), (2, 4, 1), (3, 2, 1), (0, 0, 5), (5, 5, 0.1), (1, 1, -3))
        assert localization(maps, BOX)[0] == pytest.approx(4 / 8)

    def test_nothing_positive_is_zero(self):
        assert localization(-np.ones((1, 6, 6)), BOX)[0] == 0.0


class TestEnergyGame:
    def test_all_mass_inside_is_one(self):
        maps = _map((2, 2, 1.0), (3, 4, 2.0), (0, 0, -5.0))  # negative mass outside does not count
        assert energy_game(maps, BOX)[0] == pytest.approx(1.0)

    def test_share_inside(self):
        assert energy_game(_map((2, 2, 3.0), (0, 0, 1.0)), BOX)[0] == pytest.approx(0.75)

    def test_no_positive_mass_is_nan(self):
        assert np.isnan(energy_game(_map((2, 2, -1.0)), BOX)[0])


class TestPositivePercentage:
    def test_values(self):
        assert positive_percentage(_map((2, 2, 2.0), (3, 3, -2.0), (0, 0, -9.0)), BOX)[0] == pytest.approx(0.5)
        assert positive_percentage(_map((2, 2, 2.0), (0, 0, -9.0)), BOX)[0] == pytest.approx(1.0)
        assert np.isnan(positive_percentage(_map((0, 0, 1.0)), BOX)[0])  # nothing inside the box


class TestConcentration:
    def test_single_pixel_inside_is_one(self):
        assert concentration(_map((3, 3, -4.0)), BOX)[0] == pytest.approx(1.0)  # |A|: sign does not matter

    def test_two_pixels(self):
        # equal masses 2 columns apart: centre of mass midway, each at distance 1 -> weight 1/2
        assert concentration(_map((2, 2, 1.0), (2, 4, 1.0)), BOX)[0] == pytest.approx(0.5)
        # one of them outside the box: only half the mass counts
        assert concentration(_map((2, 2, 1.0), (0, 2, 1.0)), BOX)[0] == pytest.approx(0.5 * 1 / (1 + 1))

    def test_matches_scipy_centre_of_mass(self):
        rng = np.random.default_rng(0)
        maps = rng.normal(size=(3, 6, 6))
        masks = box_masks(BOX * 3, 6, 6)
        expected = []
        for a, m in zip(maps, masks):
            normalized = np.abs(a) / np.abs(a).sum()
            centre = ndimage.center_of_mass(np.abs(a))
            rows, cols = np.indices(a.shape)
            expected.append((normalized * m / (1 + np.hypot(rows - centre[0], cols - centre[1]))).sum())
        np.testing.assert_allclose(concentration(maps, masks), expected, rtol=1e-6)  # maps go through float32

    def test_zero_map_is_nan(self):
        assert np.isnan(concentration(np.zeros((1, 6, 6)), BOX)[0])


class TestShared:
    def test_channel_aggregation(self):
        maps = np.zeros((1, 6, 6, 2))
        maps[0, 2, 2] = [1.0, -1.0]  # the signed sum cancels, max-abs keeps it
        maps[0, 0, 0] = [0.5, 0.0]
        assert energy_game(maps, BOX)[0] == pytest.approx(0.0)
        assert energy_game(maps, BOX, channel_reduction="max_abs")[0] == pytest.approx(1.0 / 1.5)

    def test_boxes_and_masks_agree_and_batch(self):
        rng = np.random.default_rng(1)
        maps = rng.normal(size=(4, 6, 6, 1))
        boxes = [[0, 0, 3, 3], [1, 1, 6, 6], [2, 2, 4, 5], [0, 3, 6, 6]]
        by_boxes = localization_metrics(maps, boxes)
        by_masks = localization_metrics(maps, box_masks(boxes, 6, 6))
        assert set(by_boxes) == {"loc", "eg", "pp", "con"}
        for name in by_boxes:
            assert by_boxes[name].shape == (4,)
            np.testing.assert_array_equal(by_boxes[name], by_masks[name])
            single = localization_metrics(maps[2:3], boxes[2:3])[name]  # per example: batch-independent
            np.testing.assert_array_equal(by_boxes[name][2:3], single)
            assert np.all((by_boxes[name] >= 0) & (by_boxes[name] <= 1))

    def test_bad_regions(self):
        maps = np.zeros((2, 6, 6))
        with pytest.raises(ValueError, match="regions"):
            energy_game(maps, np.ones((2, 5, 6), bool))  # wrong size
        with pytest.raises(ValueError, match="regions"):
            energy_game(maps, np.zeros((2, 6, 6), bool))  # empty
        with pytest.raises(ValueError, match="regions"):
            energy_game(maps, np.ones((2, 6, 6)))  # not boolean
        with pytest.raises(ValueError, match="regions"):
            energy_game(maps, BOX)  # one box for two maps
        with pytest.raises(ValueError, match="attributions"):
            energy_game(np.zeros((6, 6)), BOX)
