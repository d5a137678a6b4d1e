"""The shipped `states.inactivity`, unchanged."""

from states.inactivity import *  # noqa: F401,F403
