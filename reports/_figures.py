"""What every figure of the report shares: matplotlib/seaborn, PNG data URLs,
configuration labels, each family's best configuration and its colour.

One colour per model family throughout, so a reader can follow a model from
chart to chart; each section's own charts live in its module
(``reports/sections/``).
"""

from __future__ import annotations

import base64
import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import seaborn as sns

from benchmarks.analysis.leaderboard import best_index
from benchmarks.core.errors import UserError
from benchmarks.grid import families
from benchmarks.grid.configuration import Configuration
from reports._tables import RunTables

DPI = 90
#: Place 5 of seaborn's colour-blind palette, a light brown, reads as a shade
#: of place 1's orange (the CNN's) next to it: the report draws near-black there.
_PLACE_5 = (0.2, 0.2, 0.2)


def palette() -> list[tuple[float, float, float]]:
    """The report's colour-blind palette, ten places."""
    colours_ = list(sns.color_palette("colorblind"))
    colours_[5] = _PLACE_5
    return colours_


def colours(models: list[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per family: a family's own place in the colour-blind palette
    where it names one, else the next place free; past the palette's ten,
    evenly spaced hues. A preprocessing variant (``cnn@lesion-crop``) takes a
    free place of its own, so that it can be told from its family."""
    palette_ = palette()
    chosen: dict[str, int | None] = {}
    for model in models:
        try:
            spec = families.family(model)
            chosen[model] = None if spec.preprocessing else spec.colour
        except UserError:  # a plug-in no longer installed: any free colour
            chosen[model] = None
    taken = {place for place in chosen.values() if place is not None}
    free = (place for place in range(len(palette_)) if place not in taken)
    extra = iter(sns.color_palette("husl", max(1, len(models))))
    result = {}
    for model, place in chosen.items():
        place = place if place is not None else next(free, None)
        result[model] = palette_[place] if place is not None else next(extra)
    return result


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A class name in a script the font lacks (CJK, say) is drawn as boxes
        # in the figures and in full in the report's tables; one warning per
        # glyph and figure would only bury the run's own messages.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _label(model: str, strategy: str) -> str:
    return str(Configuration(model, strategy))


def _best_per_family(tables: RunTables) -> list[tuple[str, str]]:
    board = tables.leaderboard
    best = []
    for model in tables.models:
        rows = board[board["model"] == model]
        if not rows.empty:
            winner = rows.iloc[best_index(rows.reset_index(drop=True))]
            best.append((model, winner["strategy"]))
    return best
