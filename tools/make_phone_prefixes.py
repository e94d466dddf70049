#!/usr/bin/env python3
"""Writes data/enrich/phone_prefixes_ru.tsv from libphonenumber's geocoding
and time-zone tables, as shipped by the PyPI `phonenumbers` package.

Dev-only. The TSV is committed; run this only to refresh it:
    pip install phonenumbers && python3 tools/make_phone_prefixes.py

Both tables are keyed by digit prefixes of the E.164 number (without "+")
and answered by longest-prefix match. They are merged into one table with
the same semantics: for every prefix of either table, the row holds the
answer each table gives for that prefix. Rows that repeat the answer of
their nearest shorter row, and rows without a description, are dropped.
Only +7 prefixes outside Kazakhstan (+76, +77) are kept. Mobile (+79...)
numbers carry no region in libphonenumber, so they get no row.

Each description is matched to a federal subject of data/enrich/regions.tsv
(same loose matching as gazetteer::lookup_region), and that subject's zone
replaces libphonenumber's: its zone table says Europe/Bucharest for
Kaliningrad (wrong in summer) and Europe/Moscow for Saratov (+4 since 2016),
and uses neighbours' zones elsewhere (Tomsk, Kemerovo, Altai, Chita).
"""
import pathlib
import re
import unicodedata

import phonenumbers
from phonenumbers.geodata import GEOCODE_DATA
from phonenumbers.tzdata import TIMEZONE_DATA

DATA = pathlib.Path(__file__).resolve().parent.parent / "crates" / "core" / "data" / "enrich"
OUT = DATA / "phone_prefixes_ru.tsv"

# libphonenumber's Russian text swaps Moscow city (495, 499) and Moscow
# Oblast (496, 498): its English text says "Moscow" for all four.
CORRECTIONS = {
    "7495": "г. Москва",
    "7496": "Московская обл.",
    "7498": "Московская обл.",
    "7499": "г. Москва",
}

# Keep in step with region_type() in crates/core/src/enrich/gazetteer/text.rs.
TYPE_WORDS = {
    "область", "обл", "области", "oblast", "obl", "region",
    "край", "кр", "края", "krai", "kray", "territory",
    "республика", "респ", "республики", "republic", "resp",
    "автономный", "автономная", "автономной", "автономного", "округ", "ао",
    "autonomous", "okrug", "district", "аобл",
    "г", "город", "федерального", "значения", "city", "gorod", "of", "the",
}


def bare_key(text):
    # Drop stress marks (the LNR text has them) and fold ё, keeping й.
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if ch not in "\u0300\u0301\u0308")
    text = unicodedata.normalize("NFC", text).replace("ё", "е")
    words = re.split(r"[^0-9a-zа-я]+", text)
    return " ".join(sorted(w for w in words if w and w not in TYPE_WORDS))


def load_regions():
    keys = {}
    for line in (DATA / "regions.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, name, tz, _off, aliases = line.split("\t")
        for alias in [name, *aliases.split("|")]:
            keys.setdefault(bare_key(alias), set()).add((code, tz))
    return keys


def is_russian(prefix):
    return prefix.startswith("7") and not prefix.startswith(("76", "77"))


def longest(table, prefix):
    for n in range(len(prefix), 0, -1):
        if prefix[:n] in table:
            return table[prefix[:n]]
    return None


def description(prefix):
    for n in range(len(prefix), 0, -1):
        if prefix[:n] in CORRECTIONS:
            return CORRECTIONS[prefix[:n]]
        if prefix[:n] in GEOCODE_DATA:
            break
    names = longest(GEOCODE_DATA, prefix)
    if not names:
        return ""
    text = (names.get("ru") or names.get("en") or "").strip()
    return text.replace("\u0301", "")  # stress marks (LNR)


def time_zone(prefix):
    zones = longest(TIMEZONE_DATA, prefix)
    # Several zones ("7" lists all of Russia) tell nothing.
    return zones[0] if zones and len(zones) == 1 else ""


def main():
    prefixes = sorted(
        {p for p in GEOCODE_DATA if is_russian(p)} | {p for p in TIMEZONE_DATA if is_russian(p)}
    )
    regions = load_regions()
    answers = {}
    for p in prefixes:
        desc, tz = description(p), time_zone(p)
        found = regions.get(bare_key(desc), set()) if desc else set()
        code = ""
        if len(found) == 1:
            code, tz = next(iter(found))
        elif desc:
            print(f"no federal subject for {p} {desc!r}: keeping zone {tz!r}")
        answers[p] = (desc, code, tz)
    rows = []
    for p in prefixes:
        desc, code, tz = answers[p]
        if not desc:
            continue  # lookup() answers None without a description anyway
        parent = next((p[:n] for n in range(len(p) - 1, 0, -1) if p[:n] in answers), None)
        if parent is not None and answers[parent] == (desc, code, tz):
            continue
        for field in (desc, tz):
            if "\t" in field or "\n" in field:
                raise SystemExit(f"separator in {field!r}")
        rows.append(f"{p}\t{desc}\t{code}\t{tz}")

    header = [
        "# Russian (+7, without Kazakhstan's +76/+77) geographic phone prefixes.",
        "# Source: libphonenumber geocoding and time-zone data (Apache-2.0,",
        "# https://github.com/google/libphonenumber), as shipped by the PyPI",
        f"# package phonenumbers {phonenumbers.__version__}.",
        "# Generated by tools/make_phone_prefixes.py; do not edit.",
        "# Columns: E.164 digit prefix<TAB>region, Russian text where",
        "# libphonenumber has it, else English<TAB>region code as in",
        "# regions.tsv, empty if none matches<TAB>IANA tz, empty if unknown.",
        "# The zone is regions.tsv's where the region is known (libphonenumber's",
        "# zone table has errors, e.g. Europe/Bucharest for Kaliningrad); 7495-7499",
        "# descriptions are corrected (libphonenumber swaps Moscow city/oblast).",
        "# Longest matching prefix wins.",
    ]
    OUT.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    print(f"{OUT.name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
