"""Data registry: named data sets with seeded splits and `tf.data` pipelines."""

from tfxai.data.registry import NAMES, DataError, Dataset, load

__all__ = ["NAMES", "DataError", "Dataset", "load"]
