"""Tests of the shared argument checkers in `tfxai._validation`."""

from __future__ import annotations

import numpy as np
import pytest

from tfxai._validation import check_bool, check_choice, check_float, check_int, check_seed, invalid_value_message


def _message(error_info: pytest.ExceptionInfo) -> str:
    return str(error_info.value)


class TestInvalidValueMessage:
    def test_keras_wording(self):
        assert (
            invalid_value_message("steps", "a positive int", 0)
            == "Invalid value for argument `steps`. Expected a positive int. Received: steps=0"
        )

    def test_received_value_is_repr(self):
        assert (
            invalid_value_message("loss", "one of ('ce', 'margin')", "hinge")
            == "Invalid value for argument `loss`. Expected one of ('ce', 'margin'). Received: loss='hinge'"
        )


class TestCheckInt:
    @pytest.mark.parametrize(
        "value, minimum, expected",
        [(1, 1, 1), (50, 1, 50), (np.int64(5), 1, 5), (np.int32(0), 0, 0), (0, 0, 0), (-3, None, -3), (2, 2, 2)],
    )
    def test_valid_values_pass_through_as_int(self, value, minimum, expected):
        result = check_int("steps", value, minimum=minimum)
        assert result == expected
        assert type(result) is int

    def test_default_minimum_is_one(self):
        assert check_int("steps", 1) == 1
        with pytest.raises(ValueError) as info:
            check_int("steps", 0)
        assert _message(info) == "Invalid value for argument `steps`. Expected a positive int. Received: steps=0"

    @pytest.mark.parametrize(
        "value, minimum, message",
        [
            (-3, 1, "Invalid value for argument `steps`. Expected a positive int. Received: steps=-3"),
            (1, 2, "Invalid value for argument `steps`. Expected an int >= 2. Received: steps=1"),
            (-1, 0, "Invalid value for argument `steps`. Expected an int >= 0. Received: steps=-1"),
        ],
    )
    def test_below_minimum(self, value, minimum, message):
        with pytest.raises(ValueError) as info:
            check_int("steps", value, minimum=minimum)
        assert _message(info) == message

    @pytest.mark.parametrize(
        "value, received",
        [
            (True, "True"),
            (np.bool_(True), repr(np.bool_(True))),
            (2.0, "2.0"),
            (2.5, "2.5"),
            (float("nan"), "nan"),
            (float("inf"), "inf"),
            ("3", "'3'"),
            (None, "None"),
        ],
    )
    def test_non_integers_are_type_errors(self, value, received):
        with pytest.raises(TypeError) as info:
            check_int("steps", value)
        assert (
            _message(info) == f"Invalid value for argument `steps`. Expected a positive int. Received: steps={received}"
        )

    def test_no_minimum(self):
        with pytest.raises(TypeError) as info:
            check_int("offset", 0.5, minimum=None)
        assert _message(info) == "Invalid value for argument `offset`. Expected an int. Received: offset=0.5"


class TestCheckFloat:
    @pytest.mark.parametrize(
        "value, expected",
        [(0.5, 0.5), (3, 3.0), (-2.0, -2.0), (np.float32(0.25), 0.25), (np.int64(2), 2.0), (0.0, 0.0)],
    )
    def test_valid_values_pass_through_as_float(self, value, expected):
        result = check_float("sigma", value)
        assert result == expected
        assert type(result) is float

    def test_bounds_are_inclusive_except_positive(self):
        assert check_float("beta", 0.0, minimum=0.0) == 0.0
        assert check_float("margin", 1.0, positive=True, maximum=1.0) == 1.0
        assert check_float("epsilon", 1e-12, positive=True) == 1e-12
        assert check_float("rate", 1, minimum=0.0, maximum=1.0) == 1.0

    @pytest.mark.parametrize("value, received", [(float("nan"), "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
    def test_non_finite_values_are_value_errors(self, value, received):
        with pytest.raises(ValueError) as info:
            check_float("sigma", value)
        assert (
            _message(info) == f"Invalid value for argument `sigma`. Expected a finite float. Received: sigma={received}"
        )
        with pytest.raises(ValueError) as info:
            check_float("noise_level", value, positive=True)
        assert _message(info) == (
            f"Invalid value for argument `noise_level`. Expected a finite float > 0. Received: noise_level={received}"
        )

    @pytest.mark.parametrize(
        "value, received", [(True, "True"), (np.bool_(False), repr(np.bool_(False))), ("0.5", "'0.5'"), (None, "None")]
    )
    def test_non_numbers_are_type_errors(self, value, received):
        with pytest.raises(TypeError) as info:
            check_float("sigma", value)
        assert (
            _message(info) == f"Invalid value for argument `sigma`. Expected a finite float. Received: sigma={received}"
        )

    @pytest.mark.parametrize("value", [[0.5], 1j])
    def test_sequences_and_complex_numbers_are_type_errors(self, value):
        with pytest.raises(TypeError, match=r"^Invalid value for argument `sigma`. Expected a finite float\. "):
            check_float("sigma", value)

    @pytest.mark.parametrize(
        "value, kwargs, message",
        [
            (0.0, {"positive": True}, "Expected a finite float > 0. Received: x=0.0"),
            (-1, {"positive": True}, "Expected a finite float > 0. Received: x=-1"),
            (-0.5, {"minimum": 0.0}, "Expected a finite float >= 0. Received: x=-0.5"),
            (0.0005, {"minimum": 1e-3}, "Expected a finite float >= 0.001. Received: x=0.0005"),
            (1.5, {"positive": True, "maximum": 1.0}, "Expected a finite float > 0 and <= 1. Received: x=1.5"),
            (2.0, {"minimum": 0.0, "maximum": 1.0}, "Expected a finite float >= 0 and <= 1. Received: x=2.0"),
            (3.0, {"maximum": 2.5}, "Expected a finite float <= 2.5. Received: x=3.0"),
        ],
    )
    def test_out_of_bounds(self, value, kwargs, message):
        with pytest.raises(ValueError) as info:
            check_float("x", value, **kwargs)
        assert _message(info) == f"Invalid value for argument `x`. {message}"

    def test_expected_overrides_the_bounds_in_the_message(self):
        kwargs = {"positive": True, "maximum": 1.0, "expected": "a probability margin in (0, 1]"}
        assert check_float("margin", 0.995, **kwargs) == 0.995
        for value, error in ((0.0, ValueError), (1.5, ValueError), ("0.9", TypeError)):
            with pytest.raises(error) as info:
                check_float("margin", value, **kwargs)
            assert _message(info) == (
                "Invalid value for argument `margin`. Expected a probability margin in (0, 1]. "
                f"Received: margin={value!r}"
            )


class TestCheckChoice:
    def test_valid_values_pass_through(self):
        assert check_choice("output", "logits", ("logits", "probabilities")) == "logits"
        assert check_choice("norm", np.str_("2"), ["inf", "2"]) == "2"

    @pytest.mark.parametrize(
        "value, received", [("softmax", "'softmax'"), ("Logits", "'Logits'"), (1, "1"), (None, "None")]
    )
    def test_other_values_are_value_errors(self, value, received):
        with pytest.raises(ValueError) as info:
            check_choice("output", value, ("logits", "probabilities"))
        assert _message(info) == (
            "Invalid value for argument `output`. Expected one of ('logits', 'probabilities'). "
            f"Received: output={received}"
        )

    def test_choices_listed_as_a_tuple(self):
        with pytest.raises(ValueError) as info:
            check_choice("path", "straight", ["cumulative", "anchored"])
        assert _message(info) == (
            "Invalid value for argument `path`. Expected one of ('cumulative', 'anchored'). Received: path='straight'"
        )

    @pytest.mark.parametrize("value", [["logits"], np.array(["logits"])])
    def test_containers_are_rejected_cleanly(self, value):
        with pytest.raises(ValueError, match=r"^Invalid value for argument `output`. Expected one of"):
            check_choice("output", value, ("logits", "probabilities"))


class TestCheckBool:
    @pytest.mark.parametrize("value, expected", [(True, True), (False, False), (np.bool_(True), True)])
    def test_valid_values_pass_through_as_bool(self, value, expected):
        result = check_bool("from_logits", value)
        assert result is expected

    @pytest.mark.parametrize(
        "value, received", [(1, "1"), (0, "0"), (np.int64(1), repr(np.int64(1))), (None, "None"), ("yes", "'yes'")]
    )
    def test_non_booleans_are_type_errors(self, value, received):
        with pytest.raises(TypeError) as info:
            check_bool("from_logits", value)
        assert _message(info) == (
            f"Invalid value for argument `from_logits`. Expected a bool. Received: from_logits={received}"
        )


class TestCheckSeed:
    @pytest.mark.parametrize("value, expected", [(0, 0), (42, 42), (np.int64(7), 7), (2**40, 2**40)])
    def test_valid_values_pass_through_as_int(self, value, expected):
        result = check_seed(value)
        assert result == expected
        assert type(result) is int

    def test_none_draws_a_seed_to_record(self):
        seeds = [check_seed(None) for _ in range(5)]
        assert all(type(seed) is int and 0 <= seed < 2**31 - 1 for seed in seeds)

    def test_negative_seed_is_a_value_error(self):
        with pytest.raises(ValueError) as info:
            check_seed(-1)
        assert _message(info) == "Invalid value for argument `seed`. Expected an int >= 0. Received: seed=-1"

    @pytest.mark.parametrize("value, received", [(1.5, "1.5"), (True, "True"), ("0", "'0'"), (float("nan"), "nan")])
    def test_non_integers_are_type_errors(self, value, received):
        with pytest.raises(TypeError) as info:
            check_seed(value)
        assert _message(info) == f"Invalid value for argument `seed`. Expected an int >= 0. Received: seed={received}"
