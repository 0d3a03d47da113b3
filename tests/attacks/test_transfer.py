"""Transfer attacks: crafted on a substitute, evaluated on the target."""

from __future__ import annotations

import numpy as np
import pytest

from tests.attacks.conftest import accuracy
from tfxai import attacks


@pytest.mark.parametrize("attack", ["pgd", "mim"])  # the PC-loss paper's black-box attacks
def test_transfer_lowers_target_accuracy(digits, attack):
    result = attacks.transfer(digits.substitute, digits.model, digits.x, digits.y, attack=attack, epsilon=0.2)
    assert isinstance(result, attacks.TransferResult)
    clean = accuracy(digits.model, digits.x, digits.y)
    assert result.accuracy < clean - 0.2
    assert result.accuracy == pytest.approx(accuracy(digits.model, result.x_adv, digits.y))
    assert result.success_rate == pytest.approx(1.0 - result.accuracy)
    np.testing.assert_array_equal(result.success, np.argmax(digits.model(result.x_adv), axis=-1) != digits.y)
    # White-box on the substitute is stronger than its transfer to the target.
    assert result.substitute_success_rate > result.success_rate
    assert np.abs(np.asarray(result.x_adv) - digits.x).max() <= 0.2 + 1e-6


def test_callable_attack_and_keyword_arguments(digits):
    x, y = digits.x[:40], digits.y[:40]
    by_name = attacks.transfer(digits.substitute, digits.model, x, y, attack="fgsm", epsilon=0.1)
    by_callable = attacks.transfer(digits.substitute, digits.model, x, y, attack=attacks.fgsm, epsilon=0.1)
    np.testing.assert_array_equal(by_name.x_adv, by_callable.x_adv)
    np.testing.assert_array_equal(by_name.x_adv, attacks.fgsm(digits.substitute, x, y, epsilon=0.1))


def test_targeted_transfer_reports_no_accuracy(digits):
    x, y = digits.x[:40], digits.y[:40]
    target = (y + 1) % 10
    result = attacks.transfer(digits.substitute, digits.model, x, target, attack="pgd", targeted=True, epsilon=0.3)
    assert result.accuracy is None
    np.testing.assert_array_equal(result.success, np.argmax(digits.model(result.x_adv), axis=-1) == target)


def test_bad_arguments(digits):
    x, y = digits.x[:4], digits.y[:4]
    with pytest.raises(ValueError, match=r"argument `attack`. Expected one of \('fgsm', .*Received: attack='deepfool'"):
        attacks.transfer(digits.substitute, digits.model, x, y, attack="deepfool")
    with pytest.raises(TypeError, match=r"argument `attack`. Expected one of .* or a callable. Received: attack=3"):
        attacks.transfer(digits.substitute, digits.model, x, y, attack=3)
    with pytest.raises(ValueError, match=r"`return_success` is set by `transfer`"):
        attacks.transfer(digits.substitute, digits.model, x, y, return_success=False)
    with pytest.raises(ValueError, match=r"argument `y`. Expected class ids in \[0, 9\]"):
        attacks.transfer(digits.substitute, digits.model, x, y + 10)
