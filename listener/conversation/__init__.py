"""The conversation core: load and check the graph, bind a participant to the one machine,
run one message through it (a pure step), and the contracts that step reads through
(extraction, acknowledgements, the event directory). Nothing here does I/O writes.
"""
