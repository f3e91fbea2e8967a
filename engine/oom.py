"""``oom-score-adj``: the process's ``/proc/self/oom_score_adj`` by role, as setOOMScoreAdj.

With ``oom-score-adj`` ``yes``/``relative`` the score written is the role's value from
``oom-score-adj-values`` (master, replica, background child) added to the score the
process had when the server first took control; ``absolute`` writes the value itself;
both are clamped to [-1000, 1000]. Turning it back to ``no`` restores that first score.
A forked child (BGSAVE, BGREWRITEAOF, a full sync) takes the child's value.
"""

from __future__ import annotations

MASTER, REPLICA, BGCHILD = 0, 1, 2  # CONFIG_OOM_*
PROC_FILE = "/proc/self/oom_score_adj"


def parse_values(args: list[str]) -> str:
    """setConfigOOMScoreAdjValuesOption: three integers in [-2000, 2000], kept as text."""
    if len(args) != 3:
        raise ValueError("wrong number of arguments")
    out = []
    for a in args:
        body = a[1:] if a[:1] in "+-" else a
        if not body.isdigit() or not -2000 <= int(a) <= 2000:
            raise ValueError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        out.append(str(int(a)))
    return " ".join(out)


class OomScore:
    """The static state of setOOMScoreAdj: whether we changed the score, and the base."""

    def __init__(self, path: str = PROC_FILE) -> None:
        self.path = path
        self.adjusted = False
        self.base = 0

    def apply(self, mode: str, values: str, process_class: int) -> str | None:
        """Write the score for ``process_class``; an error text when it could not be
        read or written (the CONFIG SET then fails and is rolled back)."""
        if mode != "no":
            if not self.adjusted:
                try:
                    with open(self.path) as fh:
                        self.base = int(fh.read().strip() or 0)
                except (OSError, ValueError) as exc:
                    return f"Unable to read oom_score_adj: {exc}"
                self.adjusted = True
            val = int(values.split()[process_class])
            if mode == "yes":
                val += self.base
            val = max(-1000, min(1000, val))
        elif self.adjusted:
            self.adjusted = False
            val = self.base
        else:
            return None
        try:
            with open(self.path, "w") as fh:
                fh.write(f"{val}\n")
        except OSError as exc:
            return f"Unable to write oom_score_adj: {exc.strerror}"
        return None


__all__ = ["BGCHILD", "MASTER", "OomScore", "REPLICA", "parse_values"]
