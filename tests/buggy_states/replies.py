"""The shipped `states.replies`, unchanged."""

from states.replies import *  # noqa: F401,F403
