"""Shared helpers of the recsys tests: a synthetic GroupLens folder and the real MovieLens 100K."""

import pathlib

import numpy as np
import pytest

ML100K = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ml-100k"
GENRES = ("unknown", "Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi")


def ml100k_or_skip() -> pathlib.Path:
    """The real MovieLens 100K folder; skips the test where it is absent."""
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K} (only present on the project's machines)")
    return ML100K


def write_grouplens(
    folder: pathlib.Path, *, num_users: int = 30, num_items: int = 40, per_user: int = 15, seed: int = 0
) -> pathlib.Path:
    """Writes a small GroupLens-format folder (u.data, u.item, u.genre) with genre-driven ratings.

    Item 1 is listed only as `unknown` (no aspects); every other item has one or two real genres.
    User ids are 1..num_users, item ids 1..num_items.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.genre").write_text("".join(f"{name}|{k}\n" for k, name in enumerate(GENRES)) + "\n")
    flags = np.zeros((num_items, len(GENRES)), int)
    flags[0, 0] = 1
    for item in range(1, num_items):
        flags[item, rng.choice(np.arange(1, len(GENRES)), size=1 + item % 2, replace=False)] = 1
    (folder / "u.item").write_text(
        "".join(
            f"{item + 1}|Movie {item + 1} (1995)|01-Jan-1995||http://x|" + "|".join(map(str, flags[item])) + "\n"
            for item in range(num_items)
        ),
        encoding="latin-1",
    )
    taste = rng.normal(size=(num_users, len(GENRES)))
    lines = []
    for user in range(num_users):
        for item in rng.choice(num_items, size=per_user, replace=False):
            score = 3.5 + taste[user] @ flags[item] / max(flags[item, 1:].sum(), 1) + rng.normal(scale=0.3)
            lines.append(f"{user + 1}\t{item + 1}\t{int(np.clip(np.rint(score), 1, 5))}\t{880000000 + len(lines)}\n")
    (folder / "u.data").write_text("".join(lines))
    return folder
