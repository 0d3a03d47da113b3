"""Explainable recommendation: AMCF on latent-factor models, MovieLens data and explainability metrics.

- `tfxai.recsys.data`: MovieLens readers (GroupLens folder, TFDS), aspects, splits, pipelines.
- `tfxai.recsys.models`: base rating models `SVD`, `NCF`, `FM`.
- `tfxai.recsys.amcf`: `AMCF` and its aspect embedding and attention layers.
- `tfxai.recsys.metrics`: RMSE, TM@K / BM@K, score_s, the surrogate truth and the baselines.
- `tfxai.recsys.train`: the trainer behind `trainers/amcf.py`, and the parameter-group optimisers.
"""

from tfxai.recsys import metrics
from tfxai.recsys.amcf import AMCF, AspectAttention, AspectEmbedding
from tfxai.recsys.data import Ratings, RatingsData, load_grouplens, load_tfds
from tfxai.recsys.models import FM, NCF, SVD, LatentFactorModel, build_base
from tfxai.recsys.train import GroupAdam, GroupSGD, explain_rating, format_explanation, train_and_evaluate

__all__ = [
    "AMCF",
    "FM",
    "NCF",
    "SVD",
    "AspectAttention",
    "AspectEmbedding",
    "GroupAdam",
    "GroupSGD",
    "LatentFactorModel",
    "Ratings",
    "RatingsData",
    "build_base",
    "explain_rating",
    "format_explanation",
    "load_grouplens",
    "load_tfds",
    "metrics",
    "train_and_evaluate",
]
