"""tfxai: trustworthy deep learning for TensorFlow 2 / Keras 3.

Robust losses (LGL, SML, LGL-INR, PC), attributions, attacks, robust
attribution training and explanations served through TensorFlow Serving.
"""

__version__ = "0.1.0"

import keras as _keras

if _keras.backend.backend() != "tensorflow":
    raise ImportError(
        "tfxai needs Keras 3 with the TensorFlow backend. "
        f"Received: KERAS_BACKEND={_keras.backend.backend()!r}; set KERAS_BACKEND=tensorflow."
    )

from tfxai import attacks, attribution, data, experiments, losses, metrics, models, recsys, training, viz  # noqa: E402

__all__ = ["attacks", "attribution", "data", "experiments", "losses", "metrics", "models", "recsys", "training", "viz", "__version__"]
