"""Behaviour the conversation graph names: guards and actions, one module per part.

Every function takes the `Turn` (and, where the graph passes them, string arguments).
Guards return a bool; actions record effects on the turn. None of them writes to the
store or sends a message: the engine commits a message's effects once, then sends.
"""
