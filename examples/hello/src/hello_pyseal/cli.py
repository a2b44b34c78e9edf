import argparse
import json
import platform
import sys

from hello_pyseal import __version__


def sqlite_version() -> str:
    # Some CPython builds (a minimal musl one, say) come without sqlite3.
    try:
        import sqlite3
    except ImportError:
        return "(not in this Python)"
    return sqlite3.sqlite_version


def main() -> int:
    parser = argparse.ArgumentParser(prog="hello-pyseal", description="Greets, and tells where it runs from.")
    parser.add_argument("name", nargs="?", default="world")
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")
    args = parser.parse_args()
    facts = {
        "greeting": f"hello, {args.name}!",
        "app": __version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "sqlite": sqlite_version(),
    }
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        for key, value in facts.items():
            print(f"{key:>10}: {value}")
    return 0
