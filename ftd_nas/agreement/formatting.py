"""The one way the tables write a value and its interval: "0.84 [0.71, 0.93]"; "-" for an undefined value."""

from __future__ import annotations


def format_value(value: float | None, digits: int = 2, scale: float = 1, sign: bool = False) -> str:
    """`value` times `scale` with `digits` decimals (a leading + with `sign`); "-" for None or NaN."""
    if value is None or value != value:
        return "-"
    return f"{scale * value:{'+' if sign else ''}.{digits}f}"


def format_interval(value: float | None, ci: list[float | None] | None, digits: int = 2, scale: float = 1,
                    sign: bool = False, unit: str = "", spread: float | None = None) -> str:
    """"value unit ± spread [lo, hi]", each part written as `format_value` writes it; the unit only after a defined
    value, the spread (e.g. a std over runs) only when given, the interval only when it has bounds."""
    text = format_value(value, digits, scale, sign)
    if text != "-":
        text += unit
    if spread is not None:
        text += f" ± {format_value(spread, digits, scale)}"
    if ci is not None and ci[0] is not None:
        text += f" [{format_value(ci[0], digits, scale, sign)}, {format_value(ci[1], digits, scale, sign)}]"
    return text
