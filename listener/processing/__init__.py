"""After the webhook has answered: the worker's jobs, each in its own module (arrival,
processing one message, composing owed replies, sending, recovery), on per-participant
ordered lanes. Everything they hold in memory is also in the store.
"""
