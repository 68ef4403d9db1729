"""The docs hold to the code: the flags page is the scripts' help, the README is short."""

import pathlib
import re
import sys

from art.commands import flags_page

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_flags_page_is_made_from_the_help():
    committed = (ROOT / "docs" / "flags.md").read_text()
    made = flags_page()
    version = re.search(r"\(Python (\d+)\.(\d+)\)", committed).groups()
    if tuple(map(int, version)) == sys.version_info[:2]:
        assert committed == made, "docs/flags.md is stale: run python docs/flags.py"
    else:
        # Another Python lays the help out its own way: the same flags, at least.
        def flags(text):
            return sorted(set(re.findall(r"--[a-z][a-z0-9-]*", text)))
        assert flags(committed) == flags(made), "docs/flags.md is stale: run python docs/flags.py"


def test_the_readme_is_read_in_five_minutes_and_links_only_to_what_exists():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for target in re.findall(r"\]\(([^)#]+)[^)]*\)", readme):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
