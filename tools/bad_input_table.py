"""Run every case of the bad-input corpus (``tests/cli/test_bad_input_corpus.py``) without
asserting, and print one row per case: exit code, stderr lines, a traceback or "internal error",
files written or changed, and the last stderr line. Point ``--repo`` at another checkout (with
the corpus file copied into it) to get the "before" column of a change:

    python tools/bad_input_table.py > after.json
    PYTHONPATH=old/src:old python tools/bad_input_table.py --repo old > before.json
    python tools/bad_input_table.py --compare before.json after.json     # Markdown table
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_cases(repo: Path) -> list[dict[str, Any]]:
    """Each case of the corpus of ``repo``, run once in a fresh temporary folder."""
    sys.path.insert(0, str(repo))
    from stainless.cli.main import main
    from tests.cli import test_bad_input_corpus as corpus

    model_root = Path(tempfile.mkdtemp())
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        translation = corpus.train_tiny_translation_model(model_root)
    rows = []
    for build in corpus.CASES:
        folder = Path(tempfile.mkdtemp())
        case = build(folder, translation)
        before = corpus.snapshot(folder, translation)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code: int | str = main(case.argv)
            except BaseException as error:
                code = f"raised {type(error).__name__}"
        lines = err.getvalue().strip().splitlines()
        after = corpus.snapshot(folder, translation)
        changed = sorted(set(after) ^ set(before)) + sorted(
            k for k in before if k in after and before[k] != after[k]
        )
        rows.append(
            {
                "case": build.__name__,
                "exit": code,
                "stderr_lines": len(lines),
                "traceback": any("Traceback" in x or "internal error" in x for x in lines),
                "written_or_changed": [str(Path(c).relative_to(folder)) for c in changed][:3],
                "last_line": re.sub(r"/tmp/\w+/", "", lines[-1] if lines else "")[:200],
            }
        )
    return rows


def _outcome(row: dict[str, Any]) -> str:
    text = f"exit {row['exit']}, {row['stderr_lines']} line(s)"
    if row["traceback"]:
        text += ", internal error"
    if row["written_or_changed"]:
        text += ", wrote " + ", ".join(row["written_or_changed"][:2])
    return text


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """A Markdown table: case, before, after (with the message after)."""
    old = {row["case"]: row for row in before}
    lines = ["| case | before | after |", "|---|---|---|"]
    for row in after:
        message = row["last_line"].split("error: ", 1)[-1][:110]
        previous = _outcome(old[row["case"]]) if row["case"] in old else "(no such case)"
        lines.append(f"| {row['case']} | {previous} | {_outcome(row)}: {message} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        print(compare(before, after))
        return 0
    print(json.dumps(run_cases(args.repo.resolve()), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
