"""A view of a Redis 7 multi-part AOF directory (docs/formats.md §7.3).

Names (mirrors aof.c ``getNewBaseFileNameAndMarkPreAsHistory``,
``getNewIncrAofName``, ``getTempIncrAofName``, ``getAofManifestFileName``)::

    <appendfilename>.<seq>.base.rdb | .base.aof     base (RDB preamble or RESP)
    <appendfilename>.<seq>.incr.aof                 incr
    <appendfilename>.manifest                       manifest
    temp-<appendfilename>.incr                      incr written during a rewrite
    temp-<appendfilename>.manifest                  manifest being replaced
    temp-rewriteaof-bg-<pid>.aof                    the rewrite child's output

:class:`AofNames` computes names; the ``with_*`` functions derive the next
manifest the way Redis does after a rewrite or when a new incr file is opened
(pure functions on :class:`~aof.manifest.Manifest`); :class:`AofDirectory` binds
a manifest to a directory on disk and replaces the manifest atomically
(temp file, fsync, rename, fsync the directory) through :mod:`aof.files`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aof import files
from aof.errors import AofError, AofWriteError, ManifestError
from aof.manifest import (
    AOF_FILE_TYPE_BASE,
    AOF_FILE_TYPE_HIST,
    AOF_FILE_TYPE_INCR,
    AofInfo,
    Manifest,
    format_manifest,
    load_manifest,
)

__all__ = [
    "DEFAULT_APPENDFILENAME",
    "DEFAULT_DIRNAME",
    "AofDirectory",
    "AofNames",
    "find_manifest",
    "mark_incrs_history",
    "with_new_base",
    "with_new_incr",
    "without_history",
]

DEFAULT_APPENDFILENAME = "appendonly.aof"
DEFAULT_DIRNAME = "appendonlydir"
MANIFEST_SUFFIX = ".manifest"
TEMP_PREFIX = "temp-"


@dataclass(frozen=True, slots=True)
class AofNames:
    """File names derived from ``appendfilename``."""

    appendfilename: str = DEFAULT_APPENDFILENAME

    def base(self, seq: int, rdb: bool) -> str:
        return f"{self.appendfilename}.{seq}.base.{'rdb' if rdb else 'aof'}"

    def incr(self, seq: int) -> str:
        return f"{self.appendfilename}.{seq}.incr.aof"

    @property
    def manifest(self) -> str:
        return self.appendfilename + MANIFEST_SUFFIX

    @property
    def temp_manifest(self) -> str:
        return TEMP_PREFIX + self.appendfilename + MANIFEST_SUFFIX

    @property
    def temp_incr(self) -> str:
        return TEMP_PREFIX + self.appendfilename + ".incr"

    @staticmethod
    def temp_rewrite(pid: int) -> str:
        return f"temp-rewriteaof-bg-{pid}.aof"


def with_new_base(am: Manifest, names: AofNames, rdb: bool) -> tuple[Manifest, AofInfo]:
    """The manifest after a rewrite produced a new base: the old base becomes the first
    history entry, the new one takes ``curr_base_seq + 1``."""
    new = am.copy()
    if new.base is not None:
        new.history.insert(0, AofInfo(new.base.name, new.base.seq, AOF_FILE_TYPE_HIST))
    new.curr_base_seq += 1
    info = AofInfo(names.base(new.curr_base_seq, rdb), new.curr_base_seq, AOF_FILE_TYPE_BASE)
    new.base = info
    return new, info


def with_new_incr(am: Manifest, names: AofNames) -> tuple[Manifest, AofInfo]:
    """The manifest with a new incr file appended (``curr_incr_seq + 1``)."""
    new = am.copy()
    new.curr_incr_seq += 1
    info = AofInfo(names.incr(new.curr_incr_seq), new.curr_incr_seq, AOF_FILE_TYPE_INCR)
    new.incrs.append(info)
    return new, info


def mark_incrs_history(am: Manifest, keep_last: bool = True) -> Manifest:
    """After a successful rewrite the incr files it covered become history (mirrors
    ``markRewrittenIncrAofAsHistory``): all but the last one when AOF is on (that one
    is being written), all of them otherwise. Moved entries go to the head of the
    history list, newest first."""
    new = am.copy()
    incrs = new.incrs
    keep = incrs[-1:] if keep_last else []
    moved = incrs[:-1] if keep_last else incrs
    for info in reversed(moved):
        new.history.insert(0, AofInfo(info.name, info.seq, AOF_FILE_TYPE_HIST))
    new.incrs = keep
    return new


def without_history(am: Manifest) -> Manifest:
    new = am.copy()
    new.history = []
    return new


def find_manifest(directory: str, appendfilename: str | None = None) -> str:
    """The manifest's file name in ``directory``: ``<appendfilename>.manifest`` when
    given, else the one ``*.manifest`` that is not a temp file."""
    if appendfilename is not None:
        name = appendfilename + MANIFEST_SUFFIX
        if not files.exists(files.join(directory, name)):
            raise AofError(f"The AOF manifest file {name} doesn't exist", source=directory)
        return name
    found = [
        n
        for n in files.listdir(directory)
        if n.endswith(MANIFEST_SUFFIX) and not n.startswith(TEMP_PREFIX)
    ]
    if not found:
        raise AofError("no AOF manifest (*.manifest) in the directory", source=directory)
    if len(found) > 1:
        preferred = DEFAULT_APPENDFILENAME + MANIFEST_SUFFIX
        if preferred in found:
            return preferred
        raise AofError(
            f"several AOF manifests in the directory ({', '.join(found)}): "
            "name the one to use",
            source=directory,
        )
    return found[0]


class AofDirectory:
    """A multi-part AOF directory: its manifest and the paths of its parts.

    ``AofDirectory.open(dir)`` reads and parses the manifest (errors carry the
    manifest path as ``source``); ``AofDirectory(dir, manifest)`` binds one held in
    memory. :meth:`commit` replaces the manifest on disk atomically.
    """

    def __init__(
        self,
        directory: str,
        manifest: Manifest | None = None,
        appendfilename: str = DEFAULT_APPENDFILENAME,
    ) -> None:
        self.directory = directory
        self.names = AofNames(appendfilename)
        self.manifest = manifest if manifest is not None else Manifest()

    @classmethod
    def open(cls, directory: str, appendfilename: str | None = None) -> AofDirectory:
        name = find_manifest(directory, appendfilename)
        path = files.join(directory, name)
        try:
            data = files.read_bytes(path)
        except OSError as exc:
            raise ManifestError(
                f"Fatal error: can't open the AOF manifest file {path} for reading: "
                f"{exc.strerror or exc}",
                source=path,
            ) from exc
        try:
            manifest = load_manifest(data)
        except ManifestError as exc:
            exc.source = path
            raise
        return cls(directory, manifest, name[: -len(MANIFEST_SUFFIX)])

    # -- views -------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> str:
        return files.join(self.directory, self.names.manifest)

    @property
    def base(self) -> AofInfo | None:
        return self.manifest.base

    @property
    def history(self) -> list[AofInfo]:
        return list(self.manifest.history)

    @property
    def incrs(self) -> list[AofInfo]:
        return list(self.manifest.incrs)

    @property
    def next_base_seq(self) -> int:
        return self.manifest.curr_base_seq + 1

    @property
    def next_incr_seq(self) -> int:
        return self.manifest.curr_incr_seq + 1

    def path(self, info: AofInfo | str) -> str:
        return files.join(self.directory, info if isinstance(info, str) else info.name)

    def parts(self) -> list[AofInfo]:
        """What a loader reads, in order: the base, then the incr files."""
        return self.manifest.files_to_load

    def missing(self) -> list[AofInfo]:
        """Loadable parts named by the manifest that are not on disk (fatal for Redis)."""
        return [i for i in self.parts() if not files.exists(self.path(i))]

    # -- changes -----------------------------------------------------------------------------
    def commit(self, manifest: Manifest | None = None) -> None:
        """Write ``manifest`` (default: the current one) over the manifest file atomically
        and make it current. On failure the old file stays and this view is unchanged."""
        am = manifest if manifest is not None else self.manifest
        data = format_manifest(am)
        try:
            files.replace_atomically(
                self.directory, self.names.manifest, self.names.temp_manifest, data
            )
        except OSError as exc:
            raise AofWriteError(
                f"Error trying to replace the AOF manifest file {self.names.manifest}: "
                f"{exc.strerror or exc}",
                errno=exc.errno,
                source=self.directory,
            ) from exc
        self.manifest = am
