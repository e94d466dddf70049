#!/usr/bin/env python3
"""Writes data/enrich/phone_carriers_ru.tsv: Russian mobile number ranges (+79…) → the
operator the range was allocated to, from libphonenumber's carrier data as shipped in the
PyPI `phonenumbers` package (Apache-2.0). Numbers move between operators (MNP since 2013),
so this is the range holder, not necessarily today's operator.
    pip install phonenumbers && python3 tools/make_phone_carriers.py"""
import pathlib

import phonenumbers
from phonenumbers.carrierdata import CARRIER_DATA

out = pathlib.Path(__file__).resolve().parent.parent / "crates" / "core" / "data" / "enrich" / "phone_carriers_ru.tsv"
rows = sorted(
    (prefix, names.get("ru") or names.get("en"))
    for prefix, names in CARRIER_DATA.items()
    if prefix.startswith("79") and (names.get("ru") or names.get("en"))
)
with out.open("w", encoding="utf-8") as f:
    f.write(f"# Russian mobile ranges -> operator the range belongs to (not the current operator:\n")
    f.write(f"# numbers are portable). Source: libphonenumber carrier data via PyPI phonenumbers\n")
    f.write(f"# {phonenumbers.__version__}, Apache-2.0. Regenerate: tools/make_phone_carriers.py\n")
    f.write("# digits after '+' (longest prefix wins)<TAB>operator\n")
    for prefix, name in rows:
        f.write(f"{prefix}\t{name}\n")
print(len(rows), "ranges ->", out)
