"""The README's picture of the flow: an SVG file beside it and the block that shows it.

`listener flow graph --write README.md` writes `docs/flow.svg` (relative to the README)
and puts the image between the `flow-diagram:start` and `flow-diagram:end` markers; a
test fails while either is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

PICTURE = Path("docs") / "flow.svg"
BLOCK = re.compile(r"(<!-- flow-diagram:start[^\n]*-->\n).*?(<!-- flow-diagram:end -->)", re.S)


def picture_line(file: str) -> str:
    return f"![The conversation as {file} declares it, drawn by `listener flow graph`]({PICTURE.as_posix()})\n"


def with_picture(document: str, file: str) -> str:
    """A Markdown document whose generated block shows the flow's picture."""
    if not BLOCK.search(document):
        raise ValueError("no <!-- flow-diagram:start --> ... <!-- flow-diagram:end --> block")
    return BLOCK.sub(lambda match: match[1] + picture_line(file) + match[2], document, count=1)


def write_readme(readme: Path, file: str, svg: str) -> Path:
    """Write the picture beside `readme` and point its block at it; the picture's path."""
    document = readme.read_text(encoding="utf-8")
    updated = with_picture(document, file)
    picture = readme.parent / PICTURE
    picture.parent.mkdir(parents=True, exist_ok=True)
    picture.write_text(svg, encoding="utf-8")
    readme.write_text(updated, encoding="utf-8")
    return picture
