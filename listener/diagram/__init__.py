"""The flow diagram: one drawing of the graph, as Mermaid text or as SVG."""
