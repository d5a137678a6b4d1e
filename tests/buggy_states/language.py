"""The shipped `states.language`, unchanged."""

from states.language import *  # noqa: F401,F403
