"""The PC-loss paper's attack protocol (Tables 1 and 3, Fig. 2) for mnist5k runs, at a scale
two CPU cores finish (about 15-25 minutes per LeNet-5 run on 1,000 test images).

White-box: FGSM, BIM (10 x 0.01), PGD (random start, 40 x 0.01) and MIM (mu = 1, 40 x 0.01)
at eps in {0.1, 0.2, 0.3}; CW-L2 (kappa = 0, 100 Adam steps of lr 0.001, 9 binary-search
steps). Black-box: SPSA (lr 0.01, delta 0.01) at eps 0.3, and PGD / MIM transferred from a
3-layer CNN substitute trained on the run's training split. Scaled down from the paper:
SPSA takes 40 steps of 32 Rademacher samples (the paper does not state its counts; 40 steps
of lr 0.01 can still reach the eps = 0.3 boundary), and the MIM false-class grid is 0.05 wide.

    python trainers/robustness.py --config=configs/robustness_mnist5k.py --workdir=runs/mnist5k_pc
"""

from tfxai.training.robustness_eval import default_config


def get_config():
    config = default_config()
    config.num_examples = 1000  # the whole mnist5k test split
    config.epsilons = (0.1, 0.2, 0.3)
    steps_001 = {"step_size": 0.01}
    config.attacks = {
        "fgsm": {},
        "bim": {"steps": 10, **steps_001},
        "pgd": {"steps": 40, **steps_001},
        "mim": {"steps": 40, "decay_factor": 1.0, **steps_001},
        "cw_l2": {"confidence": 0.0, "steps": 100, "learning_rate": 0.001, "binary_search_steps": 9},
        "spsa": {"epsilons": (0.3,), "steps": 40, "num_samples": 32, "learning_rate": 0.01, "delta": 0.01},
    }
    config.transfer_attacks = {"pgd": dict(config.attacks["pgd"]), "mim": dict(config.attacks["mim"])}
    config.false_class_attacks = {
        "fgsm": {},
        "mim": {**config.attacks["mim"], "epsilons": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)},
    }
    config.false_class_epsilons = tuple(round(0.02 * i, 2) for i in range(1, 16))  # FGSM: 0.02 ... 0.3
    config.tolerance = 1.0
    config.batch_size = 500
    config.substitute.model = "substitute"
    config.substitute.epochs = 10
    config.substitute.batch_size = 128
    config.substitute.learning_rate = 1e-3
    return config
