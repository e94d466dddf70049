#!/usr/bin/env python3
"""Differential-test oracle: Google's libphonenumber (the PyPI `phonenumbers` port) on
generated Russian numbers in mixed formats, 8-800 included, plus foreign and broken ones.

Writes tests/data/phone_oracle.tsv: input <TAB> valid (0/1) <TAB> E.164 (or empty).
Dev-only; the TSV is committed so the Rust test needs no Python:
    pip install phonenumbers && python3 tools/phone_oracle.py [N] [SEED]
"""
import random
import sys
import pathlib

import phonenumbers

N = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 20261123
rng = random.Random(SEED)

# Realistic leading codes: mobiles 9xx, Moscow/SPb/regional fixed lines, toll-free 800,
# plus random prefixes so invalid ranges are exercised too.
CODES = ["916", "915", "926", "903", "905", "985", "999", "977", "921", "914", "950", "958",
         "495", "499", "812", "343", "383", "846", "4012", "8412", "3012", "800", "804", "809",
         "901", "940", "970", "600", "700", "300", "100", "000"]


def nsn():
    code = rng.choice(CODES) if rng.random() < 0.85 else str(rng.randint(100, 999))
    rest = "".join(rng.choice("0123456789") for _ in range(10 - len(code)))
    return code + rest


def fmt(n):
    style = rng.randrange(12)
    a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
    return [
        f"+7{n}", f"8{n}", f"7{n}", n,
        f"8 ({a}) {b}-{c}-{d}", f"+7 {a} {b} {c} {d}", f"8-{a}-{b}-{c}-{d}",
        f"+7({a}){b}{c}{d}", f"8 {a} {b}{c}{d}", f"+7 ({a}) {b}-{c}-{d}",
        f"8.{a}.{b}.{c}.{d}", f"7 {a} {b} {c} {d}",
    ][style]


def case():
    r = rng.random()
    if r < 0.78:
        return fmt(nsn())
    if r < 0.86:  # toll-free 8-800, the crate-breaking case
        n = "800" + "".join(rng.choice("0123456789") for _ in range(7))
        return fmt(n)
    if r < 0.92:  # wrong lengths
        n = nsn()
        return rng.choice([n[:-1], n + rng.choice("0123456789"), "8" + n[:-2], "+7" + n + "1"])
    # foreign numbers written internationally
    return rng.choice([
        "+49 30 " + str(rng.randint(100000, 99999999)),
        "+375 29 " + str(rng.randint(1000000, 9999999)),
        "+380 67 " + str(rng.randint(1000000, 9999999)),
        "+7 7" + str(rng.randint(10, 79)) + " " + str(rng.randint(1000000, 9999999)),
        "+1 212 " + str(rng.randint(2000000, 9999999)),
        "+44 20 " + str(rng.randint(10000000, 99999999)),
    ])


out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "phone_oracle.tsv"
seen = set()
rows = []
while len(rows) < N:
    s = case()
    if s in seen:
        continue
    seen.add(s)
    try:
        p = phonenumbers.parse(s, "RU")
        valid = phonenumbers.is_valid_number(p)
        e164 = phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164) if valid else ""
    except phonenumbers.NumberParseException:
        valid, e164 = False, ""
    rows.append(f"{s}\t{int(valid)}\t{e164}")
out.write_text(
    f"# libphonenumber (python phonenumbers {phonenumbers.__version__}), region RU, seed {SEED}\n"
    + "\n".join(rows) + "\n",
    encoding="utf-8",
)
print(f"{len(rows)} cases, {sum(r.split(chr(9))[1] == '1' for r in rows)} valid -> {out}")
