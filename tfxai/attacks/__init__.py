"""Adversarial attacks for robustness evaluation.

Every attack takes a model that outputs logits, float inputs `x` `[B, ...]` on the model's
input scale and integer labels `y` (the target classes when `targeted=True`), and returns
`x_adv` with the shape and dtype of `x` (plus a success mask with `return_success=True`).
"""

from tfxai.attacks.boundary_search import BoundarySearch, BoundarySearchResult, boundary_search
from tfxai.attacks.cw import cw_l2
from tfxai.attacks.fgsm import fgsm
from tfxai.attacks.iterative import bim, mim, pgd
from tfxai.attacks.spsa import spsa
from tfxai.attacks.transfer import TransferResult, transfer

__all__ = [
    "BoundarySearch",
    "BoundarySearchResult",
    "boundary_search",
    "TransferResult", "bim", "cw_l2", "fgsm", "mim", "pgd", "spsa", "transfer"]
