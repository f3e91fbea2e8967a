#!/usr/bin/env python3
"""Generate engine/execution/redis_commands.json from Redis's command descriptions.

Redis describes every command in ``src/commands/<name>.json`` and turns them into its
command table (``utils/generate-command-code.py`` → ``commands.c``); COMMAND INFO and
COMMAND DOCS report that table. This script reads the same JSON files of a Redis 7.0
source tree and writes the facts those replies need, normalised the way Redis's
generator normalises them (argument names lower case, tokens upper case, tips lower
case, subcommands grouped under their container), as one Python literal the engine
loads. Commands only Sentinel serves are left out, as redis-server leaves them out.

    python scripts/gen_redis_commands.py <redis-source-dir>

The output is committed; run this again only to follow a new Redis release.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "execution",
                   "redis_commands.json")

# COMMAND_GROUP_STR: the JSON's group names as COMMAND DOCS spells them
GROUPS = {"sorted_set": "sorted-set"}
# key-spec access flags keep their case in COMMAND INFO (addReplyFlagsForKeyArgs)
UPPER_KEY_FLAGS = {"RO", "RW", "OW", "RM"}

def _c_string(text: str) -> str:
    """What the C compiler makes of ``"<text>"`` in the commands.c Redis generates (it
    writes JSON strings between quotes unescaped): MIGRATE's ``""`` token is two empty
    literals, an empty string."""
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', f'"{text}"')) if '"' in text else text


def _arg(desc: dict) -> dict:
    out: dict = {"name": desc["name"].lower(), "type": desc["type"]}
    if "key_spec_index" in desc:
        out["key_spec_index"] = desc["key_spec_index"]
    if desc.get("token"):
        out["token"] = _c_string(desc["token"].upper())
    for field in ("summary", "since", "deprecated_since"):
        if desc.get(field):
            out[field] = desc[field]
    flags = tuple(f for f in ("optional", "multiple", "multiple_token") if desc.get(f))
    if flags:
        out["flags"] = flags
    if desc["type"] in ("oneof", "block"):
        out["args"] = tuple(_arg(a) for a in desc["arguments"])
    return out


def _key_spec(spec: dict) -> tuple:
    flags = tuple(f if f in UPPER_KEY_FLAGS else f.lower() for f in spec.get("flags", []))
    bs = spec["begin_search"]
    if bs.get("index"):
        begin: tuple = ("index", bs["index"]["pos"])
    elif bs.get("keyword"):
        begin = ("keyword", bs["keyword"]["keyword"], bs["keyword"]["startfrom"])
    else:
        begin = ("unknown",)
    fk = spec["find_keys"]
    if fk.get("range"):
        r = fk["range"]
        find: tuple = ("range", r["lastkey"], r["step"], r["limit"])
    elif fk.get("keynum"):
        k = fk["keynum"]
        find = ("keynum", k["keynumidx"], k["firstkey"], k["step"])
    else:
        find = ("unknown",)
    return (spec.get("notes", ""), flags, begin, find)


def _entry(desc: dict, group: str) -> dict:
    return {
        "summary": desc.get("summary", ""),
        "since": desc.get("since", ""),
        "group": GROUPS.get(group, group),
        "complexity": desc.get("complexity", ""),
        "doc_flags": tuple(f.lower() for f in desc.get("doc_flags", [])),
        "deprecated_since": desc.get("deprecated_since", ""),
        "replaced_by": desc.get("replaced_by", ""),
        "history": tuple(tuple(h) for h in desc.get("history") or ()),
        "tips": tuple(t.lower() for t in desc.get("command_tips", [])),
        "arity": desc["arity"],
        "flags": tuple(f.lower() for f in desc.get("command_flags", [])),
        "acl": tuple("@" + c.lower() for c in desc.get("acl_categories", [])),
        "key_specs": tuple(_key_spec(s) for s in desc.get("key_specs", [])),
        "args": tuple(_arg(a) for a in desc.get("arguments", [])),
        "getkeys": bool(desc.get("get_keys_function")),
    }


def generate(src: str) -> dict[str, dict]:
    tops: dict[str, dict] = {}
    subs: dict[str, dict[str, dict]] = {}
    for path in sorted(glob.glob(os.path.join(src, "src", "commands", "*.json"))):
        with open(path, encoding="utf-8") as fh:
            for name, desc in json.load(fh).items():
                if "ONLY_SENTINEL" in desc.get("command_flags", []):
                    continue
                if desc.get("container"):
                    subs.setdefault(desc["container"].lower(), {})[name.lower()] = desc
                else:
                    tops[name.lower()] = desc
    out: dict[str, dict] = {}
    for name in sorted(tops):
        desc = tops[name]
        out[name] = _entry(desc, desc["group"])
        for sub in sorted(subs.get(name, {})):
            out[f"{name}|{sub}"] = _entry(subs[name][sub], desc["group"])  # the container's group
    return out


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = generate(sys.argv[1])
    with open(OUT, "w", encoding="utf-8") as fh:  # a command a line: diffs stay readable
        fh.write("{\n" + ",\n".join(f"{json.dumps(name)}: {json.dumps(entry)}"
                                     for name, entry in data.items()) + "\n}\n")
    print(f"{len(data)} commands written to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
