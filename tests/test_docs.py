"""The design notes in docs/ stay the ones the code cites, and nothing points outside the repo.

Code, tests and READMEs cite ``docs/formats.md §7.4``, ``docs/durability.md D-5`` and
``docs/style.md rule 1``. These tests fail when

* any file in the repository names a path outside it (a checkout elsewhere on some
  machine, a shared notes directory) or cites a design note that is not in docs/;
* a cited section, rule id or style rule does not exist in the document;
* a test that docs/durability.md names as checking a rule is gone;
* a relative link in a Markdown file leads nowhere, or a link to upstream source
  is not pinned to a tag or commit (its line anchors would drift);
* docs/README.md does not list every document in docs/.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
THIS = Path(__file__).resolve()

TEXT_SUFFIXES = {".py", ".pyi", ".md", ".c", ".h", ".toml", ".sh", ".cfg", ".ini", ".txt",
                 ".yml", ".yaml", ".json", ".manifest"}
TEXT_NAMES = {".gitignore", "run"}
# Without git (an unpacked archive): the project's own directories, not a virtualenv or build.
PROJECT_DIRS = ("rdbtools", "aof", "engine", "cli", "tests", "bench", "fixtures", "scripts", "docs", ".ci")
SKIP_DIRS = {"__pycache__", "build", "dist"}

# Paths that only exist on a development machine, never in a clone. Spelled in pieces so
# that this file does not match itself.
OUTSIDE = [
    re.compile(re.escape("/" + "work/")),
    re.compile(re.escape(".." + "/shared")),
    re.compile(re.escape("shared" + "/docs")),
    re.compile(re.escape("/" + "home/")),
    re.compile(re.escape("redis" + "-src/")),
    re.compile(re.escape("reliability" + ".md")),  # the notes that became docs/durability.md
]

NOTE = re.compile(r"(?P<prefix>docs/)?(?P<doc>formats|durability)\.md")
STYLE = re.compile(r"(?P<prefix>docs/)?style(?P<md>\.md)?\s+rules?\s+(?P<nums>\d+(?:\s*(?:,|and)\s*\d+)*)")
LEAD = re.compile(r"[\s#*/`'\"(]*")
SECTION = r"(?:§|sections?\s+)\s?\d+(?:\.\d+)*(?:\s?[–-]\s?§?\d+(?:\.\d+)*)?"
ITEM = {
    "formats": re.compile(SECTION),
    "durability": re.compile(rf"[DP]-\d+|{SECTION}"),
}
SEP = re.compile(r"\s*(?:,|/|;|and|or)\s*")
NUMBER = re.compile(r"\d+(?:\.\d+)*")


def repo_files() -> list[Path]:
    """Tracked and new (not ignored) files; a plain walk when this is not a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout
        paths = sorted({ROOT / p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})
        return [p for p in paths if p.is_file()]
    except (OSError, subprocess.CalledProcessError):
        found = [p for p in ROOT.iterdir() if p.is_file()]
        for top in PROJECT_DIRS:
            for d, dirs, names in os.walk(ROOT / top):
                dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.endswith(".egg-info")]
                found += [Path(d) / n for n in names]
        return sorted(found)


def text_files() -> list[Path]:
    return [p for p in repo_files() if p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES]


def read(p: Path) -> str:
    return p.read_text("utf-8", errors="replace")


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def headings(doc: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, read(DOCS / doc), re.MULTILINE))


def anchors() -> dict[str, set[str]]:
    return {
        "formats": headings("formats.md", r"^#{2,6}\s+(\d+(?:\.\d+)*)\s"),
        "durability": headings("durability.md", r"^#{2,6}\s+([DP]-\d+|\d+(?:\.\d+)*)\s"),
        "style": headings("style.md", r"^(\d+)\.\s"),
    }


def cited_refs(text: str, pos: int, doc: str) -> list[str]:
    """The ids right after a mention of ``doc`` (``§7.2–7.5, §8.1``, ``D-1, D-5``)."""
    pos = LEAD.match(text, pos).end()
    out: list[str] = []
    item = ITEM[doc]
    while (m := item.match(text, pos)) is not None:
        found = m.group()
        out += re.findall(r"[DP]-\d+", found) if found[:1] in "DP" else NUMBER.findall(found)
        sep = SEP.match(text, m.end())
        if sep is None or item.match(text, sep.end()) is None:
            break
        pos = sep.end()
    return out


def test_no_file_points_outside_the_repository() -> None:
    bad = []
    for p in text_files():
        if p.resolve() == THIS:
            continue
        text = read(p)
        for pat in OUTSIDE:
            for m in pat.finditer(text):
                bad.append(f"{rel(p)}:{line_of(text, m.start())}: {m.group()!r}")
    assert not bad, "paths outside the repository (cite docs/… instead):\n" + "\n".join(bad)


def test_every_cited_section_exists() -> None:
    known = anchors()
    assert known["formats"] and known["durability"] and known["style"]
    bad = []
    for p in text_files():
        if p.resolve() == THIS:
            continue
        text = read(p)
        in_docs = p.parent == DOCS
        for m in NOTE.finditer(text):
            where = f"{rel(p)}:{line_of(text, m.start())}"
            if m.group("prefix") is None and not in_docs:
                bad.append(f"{where}: cite {m.group('doc')}.md as docs/{m.group('doc')}.md")
            for ref in cited_refs(text, m.end(), m.group("doc")):
                if ref not in known[m.group("doc")]:
                    bad.append(f"{where}: docs/{m.group('doc')}.md has no {ref}")
        for m in STYLE.finditer(text):
            where = f"{rel(p)}:{line_of(text, m.start())}"
            if m.group("md") is None or (m.group("prefix") is None and not in_docs):
                bad.append(f"{where}: cite the rule as docs/style.md rule N, not {m.group()!r}")
            for n in re.findall(r"\d+", m.group("nums")):
                if n not in known["style"]:
                    bad.append(f"{where}: docs/style.md has no rule {n}")
    assert not bad, "citations of the design notes that do not resolve:\n" + "\n".join(bad)


def test_the_tests_durability_names_exist() -> None:
    text = read(DOCS / "durability.md")
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) > 20
    bad = []
    for path, name in named:
        f = ROOT / path
        if not f.is_file():
            bad.append(f"{path} does not exist")
        elif not re.search(rf"^\s*(?:async\s+)?def {name}\(", read(f), re.MULTILINE):
            bad.append(f"{path} has no test {name}")
    assert not bad, "docs/durability.md names tests that are gone:\n" + "\n".join(bad)


MD_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
UPSTREAM = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/blob/([^/\s)]+)/")


@pytest.mark.parametrize("md", sorted(rel(p) for p in repo_files() if p.suffix == ".md"))
def test_markdown_links_resolve(md: str) -> None:
    p = ROOT / md
    text = read(p)
    bad = []
    for m in MD_LINK.finditer(text):
        target = m.group(1)
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        dest = (p.parent / target.split("#", 1)[0]).resolve()
        if not dest.exists() or ROOT not in (dest, *dest.parents):
            bad.append(f"line {line_of(text, m.start())}: {target}")
    for m in UPSTREAM.finditer(text):
        if m.group(1) in ("master", "main", "unstable", "HEAD"):
            bad.append(f"line {line_of(text, m.start())}: {m.group()} is not pinned to a tag or commit")
    assert not bad, f"{md}: links that lead nowhere or drift:\n" + "\n".join(bad)


def test_every_format_section_links_the_source_it_describes() -> None:
    parts = re.split(r"^(### \d+(?:\.\d+)+ .*)$", read(DOCS / "formats.md"), flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert len(sections) > 40
    bare = [h for h, body in sections.items() if not UPSTREAM.search(body)]
    assert not bare, f"docs/formats.md sections without a link to upstream source: {bare}"


def test_the_index_lists_every_document() -> None:
    index = read(DOCS / "README.md")
    missing = [p.name for p in DOCS.glob("*.md") if p.name != "README.md" and f"]({p.name})" not in index]
    assert not missing, f"docs/README.md does not list {missing}"
