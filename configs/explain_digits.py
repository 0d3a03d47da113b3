"""Explanations of a finished digits classifier run (trainers/explain.py).

    python trainers/classifier.py --config=configs/digits.py:ce --workdir=/tmp/digits_ce
    python trainers/explain.py --config=configs/explain_digits.py --workdir=/tmp/digits_ce

`methods` maps `tfxai.attribution` class names to their constructor arguments (override one
with e.g. `--config.methods.BIG.search.steps=20`). The data set and split come from the
run's own config.json.
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.num_examples = 8  # test images explained, drawn with `seed`
    config.seed = 0
    config.batch_size = 64  # examples per explainer call
    config.methods = ml_collections.ConfigDict(  # {tfxai.attribution class name: constructor arguments}
        {
            "Saliency": {},
            "IntegratedGradients": {"steps": 64},
            "SmoothGrad": {"num_samples": 32},
            "BlurIG": {"steps": 64},
            "AGI": {"epsilon": 0.05, "max_steps": 20},
            "BIG": {"steps": 20, "search": {"epsilons": [0.02, 0.05, 0.1, 0.2, 0.3], "steps": 50, "cw_steps": 100}},
        }
    )
    config.substrates = ("black", "blurred")  # insertion / deletion substrates (METHODS §5)
    config.overlay_alpha = None  # None: heatmaps alone; a float in [0, 1]: blended over the images
    return config
