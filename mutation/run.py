"""Mutation testing of the conversation's behaviour: mutmut, then the score and the survivors.

    python mutation/run.py              # every mutant (mutmut keeps results in mutants/:
                                        # a rerun tests only what changed)
    python mutation/run.py --smoke      # CI: one module of states/, chosen by the day
    python mutation/run.py --module states/event.py
    python mutation/run.py --survivors  # the last run's survivors again (after new tests)
    python mutation/run.py NAME...      # these mutants again (names as `mutmut show` takes)

What is mutated and which tests run are in pyproject.toml, `[tool.mutmut]`. After mutmut,
this prints the score per module and checks every surviving mutant against
`mutation/survivors.yaml` (each survivor listed with why it changes no behaviour). It exits
non-zero when the score is under `--minimum` (90%), when a survivor is not listed, or, on a
full run, when a listed survivor is now killed (the list must stay true).

One thing is added to mutmut: it leaves decorated functions alone (a decorator may run
twice when it copies them), which would leave out every guard (`@reads`), template value
(`@template_value`) and `replies.say` (`@text_keys`). Those three decorators only label or
register a function, so here their functions are mutated too: the trampoline keeps the
decorator, the copies mutmut makes of the function do not (a copy registered as a template
value would replace the trampoline). mutmut is pinned in the `mutation` extra for this.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SURVIVORS = ROOT / "mutation" / "survivors.yaml"
LABELLING_DECORATORS = {"reads", "template_value", "text_keys"}
KILLED = {"killed", "caught by type check", "timeout"}
"""A mutant that makes the tests hang is noticed too: the run past its deadline fails."""


def _decorator_name(decorator) -> str | None:
    import libcst as cst

    node = decorator.decorator
    if isinstance(node, cst.Call):
        node = node.func
    return node.value if isinstance(node, cst.Name) else None


def _labelled_only(function) -> bool:
    """A function whose decorators (at least one) all only label or register it."""
    names = [_decorator_name(decorator) for decorator in function.decorators]
    return bool(names) and all(name in LABELLING_DECORATORS for name in names)


def mutate_labelled_functions() -> None:
    """Let mutmut mutate functions whose only decorators are the labelling ones above."""
    import libcst as cst
    from libcst.metadata import PositionProvider
    from mutmut.mutation import file_mutation

    skip = file_mutation.MutationVisitor._skip_node_and_children

    def skip_unless_labelled(self, node):
        if isinstance(node, cst.FunctionDef) and _labelled_only(node):
            position = self.get_metadata(PositionProvider, node, None)
            if position and position.start.line in self._ignored_node_lines:
                self.ignored_functions.add(node.name.value)
                return True
            return skip(self, node.with_changes(decorators=[]))
        return skip(self, node)

    arrange = file_mutation.function_trampoline_arrangement

    def arrange_undecorated_copies(function, mutants, class_name):
        declarations, methods, assignments, names = arrange(function, mutants, class_name)
        if _labelled_only(function):
            methods = [methods[0], *(method.with_changes(decorators=[]) for method in methods[1:])]
        return declarations, methods, assignments, names

    file_mutation.MutationVisitor._skip_node_and_children = skip_unless_labelled
    file_mutation.function_trampoline_arrangement = arrange_undecorated_copies


def mutated_modules() -> list[str]:
    """The files `[tool.mutmut] only_mutate` names, as paths from the project root."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    found = []
    for source in config["source_paths"]:
        for path in sorted((ROOT / source).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if any(fnmatch.fnmatch(relative, pattern) for pattern in config["only_mutate"]):
                found.append(relative)
    return found


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def results(modules: list[str]) -> dict[str, dict[str, str]]:
    """Each module's mutants and their status, from mutmut's files in mutants/."""
    from mutmut.stats import status_by_exit_code

    found = {}
    for path in modules:
        meta = ROOT / "mutants" / f"{path}.meta"
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        found[path] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return found


def run_mutmut(patterns: list[str], max_children: int) -> int:
    from mutmut.__main__ import cli

    mutate_labelled_functions()
    os.environ["LISTENER_FRESH_FLOW"] = "1"  # tests/conftest.py: no flow built before the mutant is on
    arguments = ["run", f"--max-children={max_children}", *patterns]
    try:
        cli(arguments, standalone_mode=False)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    return 0


SMOKE_MINIMUM = 0.25
"""A smoke run fails only when the configuration has rotted: under this, the tests reach
next to none of the module's mutants."""


def report(found: dict[str, dict[str, str]], minimum: float, full: bool, strict: bool = True) -> bool:
    """Print the score per module; False when it is under `minimum`, or (`strict`) when a
    survivor is not explained, or (`full`) when the survivors file lists a killed mutant."""
    survivors = yaml.safe_load(SURVIVORS.read_text(encoding="utf-8")) or {}
    ok = True
    total = killed_total = equivalent_total = 0
    print(f"\n{'module':38} {'mutants':>8} {'killed':>7} {'score':>7} {'+listed':>8}  other")
    for path, statuses in found.items():
        killed = sum(status in KILLED for status in statuses.values())
        equivalent = sum(status not in KILLED and name in survivors for name, status in statuses.items())
        other: dict[str, int] = {}
        for status in statuses.values():
            if status not in KILLED:
                other[status] = other.get(status, 0) + 1
        score = killed / len(statuses) if statuses else 1.0
        explained = (killed + equivalent) / len(statuses) if statuses else 1.0
        total += len(statuses)
        killed_total += killed
        equivalent_total += equivalent
        print(f"{path:38} {len(statuses):8} {killed:7} {score:7.1%} {explained:8.1%}  {other or ''}")
    score = killed_total / total if total else 0.0
    explained = (killed_total + equivalent_total) / total if total else 0.0
    print(f"{'all':38} {total:8} {killed_total:7} {score:7.1%} {explained:8.1%}")
    print("(score: killed / mutants; +listed: killed or listed as equivalent in survivors.yaml)")
    if score < minimum:
        print(f"\nthe score {score:.1%} is under {minimum:.0%}")
        ok = False
    unexplained = sorted(
        name for statuses in found.values() for name, status in statuses.items()
        if status not in KILLED and name not in survivors
    )
    if unexplained:
        print(f"\n{len(unexplained)} mutants not killed and not in {SURVIVORS.relative_to(ROOT)} "
              "(see one with `mutmut show NAME`; kill it with a test, or list it with why it changes nothing):")
        for name in unexplained:
            print(f"  {name}: {found[_path_of(name, found)][name]}")
        ok = ok and not strict
    if full:
        tested = {name: status for statuses in found.values() for name, status in statuses.items()}
        stale = sorted(name for name in survivors if tested.get(name) in KILLED or name not in tested)
        if stale:
            print(f"\nlisted in {SURVIVORS.relative_to(ROOT)} but killed now, or no longer made: {', '.join(stale)}")
            ok = False
    return ok


def _path_of(name: str, found: dict[str, dict[str, str]]) -> str:
    return next(path for path, statuses in found.items() if name in statuses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--smoke", action="store_true", help="one module of states/, chosen by the day (CI)")
    choice.add_argument("--module", help="one module's mutants, e.g. states/event.py")
    choice.add_argument("--survivors", action="store_true", help="test again every mutant the last run did not kill (survived, no tests, timeout)")
    parser.add_argument("names", nargs="*", help="mutants to test again, by name")
    parser.add_argument("--minimum", type=float, default=0.90, help="the least score that passes (0.90)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--report", action="store_true", help="only the score and survivors of the last run")
    options = parser.parse_args(argv)
    os.chdir(ROOT)
    modules = mutated_modules()
    chosen = modules
    if options.smoke:
        # states/ only: a mutant of the loader or the flow runs every test (a few minutes each)
        behaviour = [path for path in modules if path.startswith("states/") and not path.endswith("__init__.py")]
        chosen = [behaviour[datetime.date.today().toordinal() % len(behaviour)]]
    elif options.module:
        if options.module not in modules:
            parser.error(f"{options.module} is not mutated; mutated: {', '.join(modules)}")
        chosen = [options.module]
    if not options.report:
        patterns = [] if chosen == modules else [f"{module_name(path)}.*" for path in chosen]
        if options.names:
            patterns = options.names
        if options.survivors:
            patterns = sorted(name for statuses in results(modules).values()
                              for name, status in statuses.items() if status not in KILLED)
            if not patterns:
                print("no survivors to test again")
                return 0
        print(f"mutation: {', '.join(chosen) if patterns else 'every module'}", flush=True)
        status = run_mutmut(patterns, options.max_children)
        if status:
            print(f"mutmut stopped with status {status}")
            return status
    found = results(chosen)
    if not found:
        print("no results in mutants/: run without --report first")
        return 1
    # The smoke run guards the configuration (mutants made, tested, some killed); the score
    # is held to `--minimum` by the full run and by --module.
    minimum = min(options.minimum, SMOKE_MINIMUM) if options.smoke else options.minimum
    return 0 if report(found, minimum, full=chosen == modules, strict=not options.smoke) else 1


if __name__ == "__main__":
    sys.exit(main())
