"""Writers for small files in the exact upstream formats (ML-1M zip, u.data, SNAP records)."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

ML1M_RATINGS = [(1, 10, 5, 978300760), (1, 20, 3, 978302109), (2, 10, 4, 978301968),
                (2, 30, 1, 978300275), (3, 10, 2, 978824291), (3, 20, 5, 978302268),
                (3, 30, 4, 978301368), (4, 20, 3, 978302039), (4, 30, 5, 978300719),
                (4, 40, 4, 978302039)]  # item 40 has one rating: dropped by the items >= 3 filter
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n4::M::45::7::02460\n"
ML1M_MOVIES = ("10::GoldenEye (1995)::Action|Adventure|Thriller\n20::Les Misérables (1995)::Drama\n"
               "30::Heat (1995)::Action|Crime|Thriller\n40::Casino (1995)::Drama|Thriller\n")


def write_ml1m_zip(path: Path, ratings=ML1M_RATINGS) -> Path:
    """An archive laid out like GroupLens's ml-1m.zip ('::' separators, latin-1 movies.dat)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-1m/ratings.dat", "".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in ratings))
        archive.writestr("ml-1m/users.dat", ML1M_USERS)
        archive.writestr("ml-1m/movies.dat", ML1M_MOVIES.encode("latin-1"))
        archive.writestr("ml-1m/README", "SUMMARY\n")
    return path


def write_u_data(path: Path, rows) -> Path:
    path.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    return path


def finefoods_record(product: str, user: str, profile: str, score: str, time: int = 1303862400) -> str:
    return (f"product/productId: {product}\nreview/userId: {user}\nreview/profileName: {profile}\n"
            f"review/helpfulness: 1/1\nreview/score: {score}\nreview/time: {time}\n"
            f"review/summary: Good\nreview/text: Tasty: really.\n\n")


def write_gzip(path: Path, data: bytes) -> Path:
    with gzip.open(path, "wb") as stream:
        stream.write(data)
    return path
