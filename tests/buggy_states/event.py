"""The shipped `states.event`, unchanged."""

from states.event import *  # noqa: F401,F403
