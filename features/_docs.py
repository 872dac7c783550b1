"""What every feature column means, for the README table and for users."""

from __future__ import annotations

from types import MappingProxyType

from features import _asymmetry, _border, _colour, _diameter, _structures, _texture

_MODULES = (_asymmetry, _border, _colour, _diameter, _texture, _structures)

#: Column-name pattern -> one-line meaning; ``{i}`` stands for a histogram bin.
FEATURE_DOCS: MappingProxyType[str, str] = MappingProxyType(
    {
        f"{module.GROUP}__{pattern}": meaning
        for module in _MODULES
        for pattern, meaning in module.DOCS.items()
    }
)


def feature_table_markdown() -> str:
    """The feature list as a markdown table: group, column pattern, meaning."""
    lines = ["| group | column | meaning |", "|---|---|---|"]
    for pattern, meaning in FEATURE_DOCS.items():
        group = pattern.split("__", 1)[0]
        escaped = meaning.replace("|", "\\|")
        lines.append(f"| {group} | `{pattern}` | {escaped} |")
    return "\n".join(lines) + "\n"
