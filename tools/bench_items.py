#!/usr/bin/env python3
"""Turns benchmark files into the item file `fixmine bench add NAME FILE --field text` reads.

    python3 tools/bench_items.py HumanEval.jsonl > humaneval-items.jsonl
    python3 tools/bench_items.py --prefix mbpp/ mbpp.jsonl > mbpp-items.jsonl
    fixmine bench add humaneval humaneval-items.jsonl --field text

Reads JSON Lines (one problem per line; blank lines skipped) and writes one line per problem:
{"task_id": ID, "text": TEXT}. TEXT is `prompt` followed by `canonical_solution` when the line
has both (HumanEval's shape: the signature and docstring, then the body), else `code` (MBPP's
shape), else `canonical_solution` alone. ID is the line's `task_id` (numbers written as text,
after --prefix), else FILE:LINE. A line with none of those fields, or that is not a JSON object,
stops the conversion with its file and line number (exit 2). Standard library only.
docs/recipes.md, "Decontaminate against a benchmark you have".
"""

import argparse
import json
import os
import sys


def items(path, prefix):
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = "%s:%d" % (path, line_no)
            try:
                obj = json.loads(line)
            except ValueError as err:
                raise SystemExit("bench_items: %s: not JSON (%s)" % (where, err)) from None
            if not isinstance(obj, dict):
                raise SystemExit("bench_items: %s: not a JSON object" % where)

            def text_field(name):
                value = obj.get(name)
                return value if isinstance(value, str) and value.strip() else None

            prompt, solution, code = (text_field("prompt"), text_field("canonical_solution"),
                                      text_field("code"))
            if prompt and solution:
                text = prompt + solution
            elif code:
                text = code
            elif solution:
                text = solution
            else:
                raise SystemExit("bench_items: %s: no string field prompt + canonical_solution, "
                                 "code or canonical_solution (fields: %s)"
                                 % (where, ", ".join(sorted(obj)) or "none"))
            task_id = obj.get("task_id")
            if isinstance(task_id, (str, int)) and not isinstance(task_id, bool):
                task_id = prefix + str(task_id)
            else:
                task_id = "%s:%d" % (os.path.basename(path), line_no)
            yield {"task_id": task_id, "text": text}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="benchmark JSON Lines files")
    parser.add_argument("--prefix", default="", help="put before every task_id (e.g. mbpp/)")
    args = parser.parse_args()
    out = sys.stdout
    count = 0
    try:
        for path in args.files:
            for item in items(path, args.prefix):
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                count += 1
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    except OSError as err:
        print("bench_items: cannot read %s: %s" % (err.filename, err.strerror), file=sys.stderr)
        return 2
    print("bench_items: %d items" % count, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
