"""``afkd data download``: PhysioNet databases through wfdb's own download functions.

``wfdb.dl_database`` reads the database's version from ``<base>/content/<db>/`` and its
files from ``<base>/files/<db>/<version>/`` (RECORDS, ANNOTATORS, headers, signals,
annotations). ``--base-url`` points both at a mirror (the tests serve a tiny tree of that
shape from a local HTTP server). Files land in a temporary directory that becomes ``--out``
only when everything arrived; an existing ``--out`` is never touched.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from afkd.atomic import atomic_dir
from afkd.errors import AfkdError

PHYSIONET = "https://physionet.org"


@dataclass(frozen=True)
class Database:
    slug: str  # PhysioNet project
    subdir: str | None  # records live below the project root (CinC 2017: training/)
    extra_files: tuple[str, ...]  # files of the project root wanted besides the records
    summary: str


DATABASES = {
    "cinc2017": Database("challenge-2017", "training", ("REFERENCE-v3.csv",),
                         "CinC 2017 training set, 8,528 single-lead records (300 Hz) and the v3 labels"),
    "mitdb": Database("mitdb", None, (), "MIT-BIH Arrhythmia Database, 48 two-lead records with beat annotations"),
    "afdb": Database("afdb", None, (), "MIT-BIH Atrial Fibrillation Database, 25 records with rhythm annotations"),
    "ltafdb": Database("ltafdb", None, (), "Long-Term AF Database, 84 records (24-25 h) with rhythm annotations"),
}


@contextlib.contextmanager
def physionet_at(base_url: str) -> Iterator[None]:
    """Point wfdb's download module at ``base_url`` for the duration (content/ and files/ below it)."""
    from wfdb.io import download

    base = base_url.rstrip("/")
    saved = download.PN_CONTENT_URL, download.config.db_index_url
    download.PN_CONTENT_URL = f"{base}/content/"
    download.config.db_index_url = f"{base}/files/"
    try:
        yield
    finally:
        download.PN_CONTENT_URL, download.config.db_index_url = saved


def download_database(name: str, out: str | os.PathLike, base_url: str = PHYSIONET,
                      records: list[str] | None = None) -> dict:
    """Download database ``name`` (cinc2017, mitdb, afdb, ltafdb) into ``out``; returns a summary.

    All records go into ``out`` itself (no sub-folders), so ``afkd data import OUT`` reads them.
    """
    import wfdb
    from wfdb.io import download

    if name not in DATABASES:
        raise AfkdError(f"database {name!r}: choose one of {', '.join(DATABASES)}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AfkdError(f"{out}: already exists; give a new directory (afkd data download never overwrites)")
    db = DATABASES[name]
    db_dir = db.slug if db.subdir is None else f"{db.slug}/{db.subdir}"
    quiet = io.StringIO()
    try:
        with physionet_at(base_url), contextlib.redirect_stdout(quiet), atomic_dir(out) as tmp:
            wfdb.dl_database(db_dir, str(tmp), records=records or "all", keep_subdirs=False)
            if db.extra_files:
                version = download.get_version(db.slug)
                for extra in db.extra_files:
                    url = posixpath.join(download.config.db_index_url, db.slug, version, extra)
                    download.dl_full_file(url, str(tmp / extra))
            heads = sorted(p.name for p in tmp.glob("*.hea"))
            if not heads:
                raise AfkdError(f"{base_url}: {db_dir} gave no records")
    except AfkdError:
        raise
    except Exception as err:  # network errors, HTTP errors, a mirror without the project
        text = " ".join(str(err).split()) or type(err).__name__
        raise AfkdError(f"{base_url}: could not download {db_dir} ({text[:200]})") from None
    return {"database": name, "records": len(heads), "out": str(out), "extra_files": list(db.extra_files)}
