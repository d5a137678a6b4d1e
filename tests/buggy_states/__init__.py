"""The shipped behaviour with one bug planted: acknowledging a message that says "boom"
raises. A graph naming this package (`behaviour: buggy_states`) shows what the worker does
with a message the flow keeps failing on."""
