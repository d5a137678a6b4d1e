"""The shipped `states.profile`, unchanged."""

from states.profile import *  # noqa: F401,F403
