"""Bulk HS6 bilateral flows in CEPII's BACI layout, behind the bulk-source contract.

BACI (CEPII) publishes one CSV per year and HS revision, named `BACI_HS<yy>_Y<year>_V<version>.csv`,
with the columns t (year), i (exporter), j (importer), k (HS6 product), v (value, thousands of US$,
FOB, reconciled from both partners' declarations to UN Comtrade) and q (quantity, metric tonnes;
empty or NA when unknown). Country codes are UN Comtrade's numeric codes, so this source maps them
through the Comtrade crosswalk (sources/comtrade/crosswalk.csv): 251 France, 490 Taiwan ("Other
Asia, nes"), 699 India, 842 United States, ...

A file's HS revision and year are what its name states (HS92 -> H0 ... HS22 -> H6); its release
is the row of its folder's RELEASES.csv (by SHA-256): BACI's version string (V202401b) is not a
date, so the date is declared, with release_kind declared or retrieved_by. A RELEASES.csv row that
gives another classification than the name is an error.

No BACI file is bundled (its licence asks users to download it from CEPII): `synthetic.py` writes
files of the same shape for the benchmarks and tests, named as synthetic.
"""

import re
from pathlib import Path

from tradewh.sources.contract import (
    RELEASES_FILE,
    BulkFile,
    BulkSource,
    FileLayoutError,
    SourceInfo,
    file_sha256,
    read_releases,
)
from tradewh.warehouse.tables import sql_literal

HERE = Path(__file__).parent

FILE_NAME = re.compile(r"^BACI_HS(?P<hs>\d{2})_Y(?P<year>\d{4})_V(?P<version>[0-9A-Za-z]+)\.csv(?:\.gz)?$")
# The HS revision a file name states -> classification code (warehouse.products.CLASSIFICATIONS)
HS_REVISIONS = {"92": "H0", "96": "H1", "02": "H2", "07": "H3", "12": "H4", "17": "H5", "22": "H6"}
# BACI's columns and the DuckDB types they are read as (values exact: DECIMAL, not DOUBLE)
CSV_COLUMNS = {"t": "SMALLINT", "i": "INTEGER", "j": "INTEGER", "k": "VARCHAR", "v": "DECIMAL(18,3)",
               "q": "DECIMAL(18,3)"}  # fmt: skip
RAW_SQL = HERE / "raw.sql"
CANONICAL_SQL = HERE / "canonical.sql"


class Baci(BulkSource):
    info = SourceInfo(
        name="baci",
        title="BACI-shaped bulk HS6 bilateral flows (CEPII layout)",
        publisher="CEPII (layout); no file bundled, synthetic files for tests and benchmarks",
        unit="US$ thousands (values), metric tonnes (quantities)",
        coverage="none bundled: the files a user puts in TRADEWH_BACI_DIR (one per year and HS revision)",
        releases="declared in RELEASES.csv by SHA-256 (BACI's version string is not a date)",
        licence="Etalab Open Licence 2.0 (BACI); synthetic files: this project's",
        url="https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
    )
    crosswalk_source = "comtrade"
    raw_columns = CSV_COLUMNS
    file_noun = "year files"

    def input_files(self, folder: Path) -> tuple[list[BulkFile], list[FileLayoutError]]:
        """Files of `folder` named like BACI's (other names are errors, RELEASES.csv aside), with
        their RELEASES.csv rows. Raises ValueError for a malformed RELEASES.csv."""
        releases = read_releases(folder)
        files, errors = [], []
        for path in sorted(Path(folder).iterdir()):
            if not path.is_file() or path.name == RELEASES_FILE or path.name.startswith("."):
                continue
            found = FILE_NAME.match(path.name)
            if found is None or found["hs"] not in HS_REVISIONS:
                errors.append(
                    FileLayoutError(
                        path,
                        [
                            "the name is not BACI_HS<92|96|02|07|12|17|22>_Y<year>_V<version>.csv: it must state the HS revision and year"
                        ],
                        what="a BACI year file",
                    )
                )
                continue
            classification = HS_REVISIONS[found["hs"]]
            sha = file_sha256(path)
            release = releases.get(sha)
            if release is None:
                errors.append(
                    FileLayoutError(
                        path,
                        [
                            f"no release: it needs a row in {RELEASES_FILE} (its SHA-256 {sha} and its release date as vintage)"
                        ],
                        what="a file with a declared release",
                    )
                )
            elif release.classification not in (None, classification):
                errors.append(
                    FileLayoutError(
                        path,
                        [
                            f"{RELEASES_FILE} line {release.line} declares {release.classification}, the name states "
                            f"HS{found['hs']} ({classification})"
                        ],  # fmt: skip
                        what="a file with one HS revision",
                    )
                )
            else:
                files.append(BulkFile(path, sha, release.vintage, release.kind, classification, int(found["year"])))
        return files, errors

    def raw_sql(self, file: BulkFile) -> str:
        columns = "{" + ", ".join(f"{sql_literal(c)}: {sql_literal(t)}" for c, t in CSV_COLUMNS.items()) + "}"
        return RAW_SQL.read_text().format(csv=sql_literal(file.path), columns=columns)

    def canonical_sql(self, raw: str, codes: str) -> str:
        return CANONICAL_SQL.read_text().format(raw=raw, codes=codes)


SOURCE = Baci()
