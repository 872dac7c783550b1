"""The report's sections, one module each, in the order the page shows them."""

from __future__ import annotations

from reports._section import Section
from reports.sections import (
    calibration,
    explanations,
    findings,
    generalization,
    imbalance,
    leaderboard,
    leave_source_out,
    overfitting,
    speed,
    summary,
    test,
    verdict,
)

SECTIONS: tuple[Section, ...] = (
    verdict.SECTION,
    findings.SECTION,
    summary.SECTION,
    leaderboard.SECTION,
    generalization.SECTION,
    leave_source_out.SECTION,
    overfitting.SECTION,
    imbalance.SECTION,
    calibration.SECTION,
    explanations.SECTION,
    test.SECTION,
    speed.SECTION,
)
