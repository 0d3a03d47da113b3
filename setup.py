"""Installs the `tfxai` package (trainers, serving and configs run from a checkout)."""

import pathlib
import re

from setuptools import find_packages, setup

_HERE = pathlib.Path(__file__).parent
_VERSION = re.search(
    r'^__version__ = "([^"]+)"', (_HERE / "tfxai" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="tfxai",
    version=_VERSION,
    description=(
        "Trustworthy deep learning for TensorFlow 2 / Keras 3: robust losses, "
        "attributions, attacks, robust attribution training and served explanations."
    ),
    long_description=(_HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tfxai", "tfxai.*"]),
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10,<4",
        "tensorboard>=2.16",
        "tensorflow-datasets>=4.9",
        "absl-py>=2.0",
        "ml-collections>=0.1.1",
        "numpy>=1.26",
        "scikit-learn>=1.3",
        "scipy>=1.10",
        "threadpoolctl>=3.1",
        "matplotlib>=3.7",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.3", "starlette>=0.37", "uvicorn>=0.29", "requests>=2.31"],
        "serving": ["starlette>=0.37", "uvicorn>=0.29", "requests>=2.31", "tensorflow-serving-api>=2.21,<2.22"],
        "bench": ["psutil>=5.9"],
        "compare": ["xplique>=1.0", "saliency>=0.2", "tf-explain>=0.3"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: TensorFlow",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
