"""Side information (MovieLens users and movies), indexed by the publisher's ids.

Files are read from the same zip archive as the ratings or from the folder of the local copy;
a missing file gives ``None`` (the caller warns). All are latin-1.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from .errors import ParseError

#: ML-100K ``u.item`` genre flags, in the README's order
GENRES_100K = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
               "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
               "Romance", "Sci-Fi", "Thriller", "War", "Western")


def _read_member(artifact: Path, folder_in_zip: str, name: str) -> bytes | None:
    if zipfile.is_zipfile(artifact):
        with zipfile.ZipFile(artifact) as archive:
            for member in archive.namelist():
                if member == f"{folder_in_zip}/{name}" or member.rsplit("/", 1)[-1] == name:
                    return archive.read(member)
        return None
    candidate = artifact.parent / name
    return candidate.read_bytes() if candidate.is_file() else None


def _table(data: bytes, sep: str, names: list[str], label: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(data), sep=sep, header=None, names=names, encoding="latin-1",
                           index_col=False, engine="c", dtype={"zip": str})
    except (pd.errors.ParserError, ValueError) as exc:
        raise ParseError(f"{label}: {exc}") from exc


def movielens_1m(artifact: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """users.dat (gender, age, occupation, zip) and movies.dat (title, genres)."""
    users_raw = _read_member(artifact, "ml-1m", "users.dat")
    movies_raw = _read_member(artifact, "ml-1m", "movies.dat")
    users = movies = None
    found = []
    if users_raw is not None:
        users = _table(users_raw.replace(b"::", b"\t"), "\t",
                       ["user_id", "gender", "age", "occupation", "zip"], "users.dat").set_index("user_id")
        found.append("users.dat")
    if movies_raw is not None:
        movies = _table(movies_raw.replace(b"::", b"\t"), "\t", ["item_id", "title", "genres"],
                        "movies.dat").set_index("item_id")
        found.append("movies.dat")
    return users, movies, found


def movielens_100k(artifact: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """u.user (age, gender, occupation, zip) and u.item (title, genres joined by '|')."""
    users_raw = _read_member(artifact, "ml-100k", "u.user")
    items_raw = _read_member(artifact, "ml-100k", "u.item")
    users = items = None
    found = []
    if users_raw is not None:
        users = _table(users_raw, "|", ["user_id", "age", "gender", "occupation", "zip"], "u.user").set_index("user_id")
        found.append("u.user")
    if items_raw is not None:
        names = ["item_id", "title", "release_date", "video_release_date", "url", *GENRES_100K]
        table = _table(items_raw, "|", names, "u.item").set_index("item_id")
        flags = table[list(GENRES_100K)].to_numpy().astype(bool)
        genres = ["|".join(g for g, on in zip(GENRES_100K, row) if on) for row in flags]
        items = pd.DataFrame({"title": table["title"], "genres": genres}, index=table.index)
        found.append("u.item")
    return users, items, found


SIDE_INFO = {"movielens-1m": movielens_1m, "movielens-100k": movielens_100k}
