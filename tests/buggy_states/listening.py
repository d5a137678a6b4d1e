"""The shipped `states.listening`, except that "boom" makes acknowledging raise."""

from states.listening import *  # noqa: F401,F403
from states.listening import acknowledge as shipped_acknowledge


def acknowledge(turn) -> None:
    if "boom" in turn.text:
        raise RuntimeError("a planted bug")
    shipped_acknowledge(turn)
