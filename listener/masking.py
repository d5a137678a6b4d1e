"""Phone numbers as logs may show them: enough to tell participants apart, not to call them."""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    """`+15550001111` -> `+155*****11`: the country prefix and the last two digits stay."""
    if not number:
        return "-"
    text = number.removeprefix("whatsapp:")
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:4]}{'*' * (len(text) - 6)}{text[-2:]}"
