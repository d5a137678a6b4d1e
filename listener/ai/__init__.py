"""Reading, replying and transcribing: the offline rules and the OpenAI implementations.

`rules` reads answers with patterns and word lists (the default, and every model answer's
validator); the OpenAI modules ask the model and fall back to the offline part whenever
the model refuses, answers something unusable, is slow or is down, so a message is never
lost to an outage. Nothing is imported here: the OpenAI SDK takes a second to import,
which offline commands never need (`listener.runtime` imports it only with a key).
"""
