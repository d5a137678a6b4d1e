"""Operators' tools: event files, exports, statistics, privacy (pseudonymous keys, forget),
the blocklist. The `listener` command and the console use them; the message path does not,
except the blocklist the webhook checks.
"""
