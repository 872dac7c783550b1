"""The report's colours: each family told apart from the others at a glance."""

from __future__ import annotations

import numpy as np

from benchmarks.grid.families import FAMILIES
from reports._figures import colours


def test_every_built_in_family_has_a_clearly_distinct_colour():
    chosen = colours(list(FAMILIES))
    assert len(set(chosen.values())) == len(FAMILIES)
    # Euclidean distance in RGB: seaborn's orange and light brown, cnn's and
    # fusion's colours once, were 0.19 apart.
    assert np.linalg.norm(np.subtract(chosen["cnn"], chosen["fusion"])) > 0.5
