#!/usr/bin/env python3
"""Splink baseline for deduplicating lead rows, scored against ground truth.

Dev-only. Needs: pip install splink duckdb pandas   (DuckDB backend; runs on Splink 5.0 and
4.0, whose APIs differ only in how the input table is handed to the Linker)

    python3 tools/eval/splink_baseline.py all_rows.csv [--threshold 0.95] [--json]

Input: a flat CSV with the columns
    source,source_row,entity_id,full_name,last_name,first_name,middle_name,phone,email,city,company,inn
holding raw values as they stand in the lead files. `entity_id` is the ground truth: it is
never shown to the model (it is not even registered with Splink) and is used only to score.

What it does, as a careful Splink user would, independently of leadpipe's own model:
 1. cleaning in Python: phone -> the 10 national digits of the Russian number (trunk 8/7
    and extensions dropped, first of several numbers); e-mail lower-cased and trimmed, plus
    a local-part key (. _ - and +tags dropped; none for role mailboxes such as info@);
    ФИО split into tokens, wrong keyboard layout undone, transliterated to a simple Latin
    key (ё -> е, common GOST / ICAO / loose spellings folded together), roles assigned by
    endings (patronymic -ович/-евна/..., surname -ов/-ева/-ский/...) and a small first-name
    list, everyday forms mapped to the full name (Саша -> Александр); vendor fields taken
    by role unless surname and first name are obviously swapped; company with legal forms
    and quotes stripped; city without "г." and with a few aliases (Мск, СПб); ИНН digits.
    A row is of kind "company" when it has no person name but a company or ИНН (a company
    typed into the name field, "ИП Фамилия Имя" included), else "person".
 2. a Fellegi-Sunter model in Splink: surname (exact with term-frequency adjustment /
    Jaro-Winkler >= 0.92 / >= 0.88 / else), first name and patronymic (initial agrees /
    exact, first name with TF / JW >= 0.88 / else), phone exact, e-mail (exact / same local
    part with TF / else), city exact, company (exact / JW >= 0.9 / else), ИНН exact.
    u by random sampling, m by EM over two blocking sessions (e-mail; surname + first
    name), the prior from deterministic rules; predictions over blocking on phone, e-mail,
    surname + first name and ИНН, pairs formed only within one row kind; connected-
    components clustering at each threshold.
 3. pairwise precision / recall / F1 of the clusters against entity_id (every row counts;
    singletons are their own cluster), pair counts taken from contingency sizes n(n-1)/2.

`--plain` switches off the two cleaning extras (layout fix and everyday-name map) to show
what they are worth.
"""
import argparse
import json
import logging
import re
import sys
import time

import pandas as pd

THRESHOLDS = [0.5, 0.8, 0.9, 0.95, 0.99]

# --------------------------------------------------------------------------- Latin key

CYR2LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c",
    "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu",
    "я": "ia",
    # Ukrainian / Belarusian letters that turn up in Russian data
    "і": "i", "ї": "i", "є": "e", "ў": "u", "ґ": "g",
}
# Folds so that GOST / ICAO / loose Latin spellings and the Cyrillic key meet:
# Aleksandr/Alexander, Yuriy/Yuri/Юрий, Natalya/Natalia/Наталья, Kiselyov/Киселёв.
# Applied left to right, in this order, to every key (typed Latin and transliterated alike).
LATIN_FOLDS = [
    ("shch", "sh"), ("sch", "sh"), ("shh", "sh"), ("kh", "h"), ("x", "ks"), ("tch", "ch"),
    ("tc", "c"), ("ts", "c"), ("cz", "c"), ("yo", "e"), ("jo", "e"), ("yu", "iu"),
    ("ju", "iu"), ("ya", "ia"), ("ja", "ia"), ("ye", "e"), ("je", "e"), ("y", "i"),
    ("j", "i"), ("w", "v"), ("q", "k"), ("ii", "i"),
]
_NON_LETTER = re.compile(r"[^a-z]")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def latin_key(word: str, digits: bool = False) -> str:
    """Lower-case Latin key of one word, Cyrillic or Latin; non-letters (and, unless
    `digits`, digits) dropped."""
    w = word.lower().replace("ё", "е")
    w = "".join(CYR2LAT.get(ch, ch) for ch in w)
    w = (_NON_ALNUM if digits else _NON_LETTER).sub("", w)
    for a, b in LATIN_FOLDS:
        if a in w:
            w = w.replace(a, b)
    return w


# ------------------------------------------------------------------ keyboard layout

_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюёЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
LAYOUT = str.maketrans(_QWERTY, _JCUKEN)
_HAS_CYR = re.compile(r"[А-Яа-яЁё]")

# ------------------------------------------------------------------ first-name list

MALE = """Александр Алексей Анатолий Андрей Антон Аркадий Арсений Артём Артур Богдан Борис
Вадим Валентин Валерий Василий Виктор Виталий Владимир Владислав Всеволод Вячеслав Геннадий
Георгий Герман Глеб Григорий Даниил Данила Денис Дмитрий Евгений Егор Захар Иван Игорь Илья
Кирилл Константин Лев Леонид Максим Марк Матвей Михаил Никита Николай Олег Павел Пётр Роман
Руслан Семён Сергей Станислав Степан Тимофей Тимур Фёдор Филипп Эдуард Юрий Ярослав Марат
Рустам Ринат Ильдар Айдар Эльдар Вениамин Ефим Яков Давид Самуил Эмиль Альберт Родион Савелий
Азат Алмаз Анвар Арслан Булат Дамир Камиль Наиль Рамиль Рафаэль Ренат Ринат Салават Тагир Фарид
Шамиль Святослав Ростислав Мирон Платон Прохор Семен Тарас Устин Всеволод Иннокентий Лука
Нестор Остап Трофим Эрик Эмин Рашид Артемий Елисей Демид Добрыня Мстислав""".split()
FEMALE = """Александра Алина Алла Алёна Алиса Анастасия Ангелина Анна Антонина Валентина Валерия
Варвара Василиса Вера Вероника Виктория Галина Дарья Диана Евгения Екатерина Елена Елизавета
Жанна Зоя Инна Ирина Карина Кристина Ксения Лариса Лидия Любовь Людмила Маргарита Марина
Мария Милана Надежда Наталья Наталия Нина Оксана Ольга Полина Раиса Регина Светлана Снежана
София Софья Тамара Татьяна Ульяна Эльвира Юлия Яна Зинаида Нелли Эльмира Олеся Таисия
Виолетта Майя Лилия Арина Злата Альбина Алсу Гульнара Гузель Динара Диляра Камила Лейла
Эльза Ясмина Есения Ева Кира Мирослава Стефания Серафима Станислава Евдокия Ефросинья Ираида
Клавдия Лада Любава Милена Римма Роза Эвелина Элина Эмилия Ангелина Агата Аделина Таисья
Фаина Юлиана Ярослава Доминика Вероника Владислава""".split()
EVERYDAY = {
    "Саша": "Александр", "Шура": "Александр", "Алекс": "Александр", "Лёша": "Алексей",
    "Алёша": "Алексей", "Андрюша": "Андрей", "Дима": "Дмитрий", "Митя": "Дмитрий",
    "Серёжа": "Сергей", "Ваня": "Иван", "Миша": "Михаил", "Коля": "Николай", "Вова": "Владимир",
    "Володя": "Владимир", "Женя": "Евгений", "Паша": "Павел", "Юра": "Юрий", "Федя": "Фёдор",
    "Макс": "Максим", "Тёма": "Артём", "Костя": "Константин", "Петя": "Пётр", "Гоша": "Георгий",
    "Жора": "Георгий", "Гриша": "Григорий", "Витя": "Виктор", "Слава": "Вячеслав",
    "Стас": "Станислав", "Толя": "Анатолий", "Боря": "Борис", "Вася": "Василий", "Рома": "Роман",
    "Лёва": "Лев", "Гена": "Геннадий", "Валера": "Валерий", "Вадик": "Вадим", "Тима": "Тимофей",
    "Стёпа": "Степан", "Олежка": "Олег", "Игорёк": "Игорь", "Даня": "Даниил", "Кирюша": "Кирилл",
    "Аня": "Анна", "Маша": "Мария", "Лена": "Елена", "Оля": "Ольга", "Наташа": "Наталья",
    "Таня": "Татьяна", "Катя": "Екатерина", "Юля": "Юлия", "Света": "Светлана", "Ира": "Ирина",
    "Ксюша": "Ксения", "Настя": "Анастасия", "Даша": "Дарья", "Лиза": "Елизавета",
    "Вика": "Виктория", "Галя": "Галина", "Люда": "Людмила", "Надя": "Надежда", "Люба": "Любовь",
    "Поля": "Полина", "Соня": "София", "Рита": "Маргарита", "Лара": "Лариса", "Валя": "Валентина",
    "Тома": "Тамара", "Зина": "Зинаида", "Вера": "Вера", "Алла": "Алла",
    "Саня": "Александр", "Шурик": "Александр", "Лёха": "Алексей", "Лёня": "Леонид",
    "Толик": "Анатолий", "Славик": "Вячеслав", "Эдик": "Эдуард", "Веня": "Вениамин",
    "Сёма": "Семён", "Ярик": "Ярослав", "Влад": "Владислав", "Антоша": "Антон", "Тоша": "Антон",
    "Аркаша": "Аркадий", "Жека": "Евгений", "Русик": "Руслан", "Тимоха": "Тимофей",
    "Юрик": "Юрий", "Яша": "Яков", "Мишаня": "Михаил", "Дениска": "Денис", "Филя": "Филипп",
    "Аля": "Александра", "Ася": "Анастасия", "Варя": "Варвара", "Лида": "Лидия",
    "Лиля": "Лилия", "Люся": "Людмила", "Мила": "Людмила", "Маруся": "Мария", "Нюша": "Анна",
    "Таша": "Наталья", "Уля": "Ульяна", "Геля": "Ангелина", "Ника": "Вероника", "Рая": "Раиса",
    "Тоня": "Антонина", "Эля": "Эльвира", "Крис": "Кристина", "Ксюня": "Ксения",
}
FIRST_NAMES = {latin_key(n) for n in MALE + FEMALE}
EVERYDAY_KEY = {latin_key(k): latin_key(v) for k, v in EVERYDAY.items()}
for _v in ("Наталия", "Софья"):  # spelling variants of one name
    EVERYDAY_KEY[latin_key(_v)] = latin_key({"Наталия": "Наталья", "Софья": "София"}[_v])
FIRST_NAMES |= set(EVERYDAY_KEY)
# common Latin spellings that the folds don't reach
EVERYDAY_KEY.update({"aleksander": "aleksandr", "alexander": "aleksandr", "aleks": "aleksandr",
                     "michael": "mihail", "peter": "petr", "helen": "elena", "julia": "iulia",
                     "mary": "maria", "catherine": "ekaterina", "eugene": "evgeni",
                     "paul": "pavel", "george": "georgi", "gregory": "grigori", "jacob": "iakov"})
FIRST_NAMES |= set(EVERYDAY_KEY)

PATRONYMIC_ENDINGS = ("ich", "ovna", "evna", "ichna", "inichna")
SURNAME_ENDINGS = ("ova", "eva", "ov", "ev", "ina", "in", "skaia", "ski", "ckaia", "cki",
                   "enko", "iuk", "uk", "ian", "dze", "shvili", "ih", "aia", "oi", "ko")
# endings that first names practically never have (unlike -ина/-ин: Марина, Альбина)
STRONG_SURNAME_ENDINGS = ("ova", "eva", "ov", "ev", "skaia", "ski", "ckaia", "cki", "enko",
                          "shvili", "dze")
NOISE = {"g", "gn", "gzha", "gospodin", "gospozha", "mr", "mrs", "ms", "miss", "dr", "sir",
         "uvazhaemii", "uvazhaemaia"}


def _ends(key: str, endings) -> bool:
    return any(key.endswith(e) and len(key) >= len(e) + 2 for e in endings)


def _is_patronymic(key: str) -> bool:
    return _ends(key, PATRONYMIC_ENDINGS)


def _is_surname(key: str) -> bool:
    return _ends(key, SURNAME_ENDINGS)


def _is_strong_surname(key: str) -> bool:
    return _ends(key, STRONG_SURNAME_ENDINGS)


def _recognised(tokens) -> int:
    n = 0
    for t in tokens:
        k = latin_key(t)
        if k in FIRST_NAMES or _is_patronymic(k) or (len(k) > 3 and _is_surname(k)):
            n += 1
    return n


def fix_layout(text: str) -> str:
    """Undo Russian typed on a Latin keyboard ("Bdfyjd Bdfy" -> "Иванов Иван") when the
    converted text has more recognisable name words than the original."""
    if not text or _HAS_CYR.search(text) or not re.search(r"[A-Za-z]", text):
        return text
    conv = text.translate(LAYOUT)
    if _recognised(conv.split()) > _recognised(text.split()):
        return conv
    return text


_SPLIT = re.compile(r"[\s.,;:/\\|()\"«»_]+")  # not ' or `: soft sign in Latin (Il'in)


def _tokens(text: str):
    """(key, is_initial) for each word of a name text."""
    out = []
    for raw in _SPLIT.split(text):
        if not raw or raw == "-":
            continue
        letters = re.sub(r"[^A-Za-zА-Яа-яЁё]", "", raw)
        k = latin_key(raw)
        if not k or k in NOISE and len(letters) > 1:
            continue
        out.append((k, len(letters) == 1))
    return out


def _first(key: str, plain: bool) -> str:
    return key if plain else EVERYDAY_KEY.get(key, key)


def parse_full_name(text: str, plain: bool):
    """Free-text ФИО -> (surname, first, patronymic, first_is_initial, patr_is_initial)."""
    if not plain:
        text = fix_layout(text)
    toks = _tokens(text)
    words = [k for k, ini in toks if not ini]
    inits = [k for k, ini in toks if ini]
    patr = None
    for k in reversed(words):
        if _is_patronymic(k) and k not in FIRST_NAMES:
            patr = k
            break
    rest = [k for k in words if k != patr] if patr else list(words)
    surname = first = None
    if len(rest) == 1:
        # one word: a surname only when it looks like one; web forms' single word is
        # mostly a first name ("Алексей", "Есения")
        k = rest[0]
        if k not in FIRST_NAMES and _is_surname(k):
            surname = k
        else:
            first = k
    elif rest:
        cands = ([k for k in rest if _is_strong_surname(k) and k not in FIRST_NAMES]
                 or [k for k in rest if _is_surname(k) and k not in FIRST_NAMES])
        if not cands:
            cands = [k for k in rest if k not in FIRST_NAMES] or rest
        surname = cands[0]
        others = [k for k in rest if k != surname] or rest[1:]
        named = [k for k in others if k in FIRST_NAMES]
        first = (named or others)[0] if others else None
    fi = pi = False
    # initials: first one is the first name, second the patronymic ("Иванов И. И.")
    if inits:
        if first is None:
            first, fi = inits.pop(0), True
        if inits and patr is None:
            patr, pi = inits.pop(0), True
    if first is not None and not fi:
        first = _first(first, plain)
    return surname, first, patr, fi, pi


def parse_split_name(last: str, first: str, middle: str, plain: bool):
    """Vendor-style separate fields. Taken by role, except that an obvious swap of surname
    and first name (first-name field looks like a surname and the surname field does not)
    is undone."""
    def one(text):
        if not plain:
            text = fix_layout(text)
        t = _tokens(text)
        return t[0] if t else (None, False)

    s, si = one(last)
    f, fi = one(first)
    p, pi = one(middle)
    if (f and not fi and f not in FIRST_NAMES and s and not si
            and ((_is_strong_surname(f) and not _is_strong_surname(s))
                 or (_is_surname(f) and s in FIRST_NAMES))):
        s, f = f, s
    if f is not None and not fi:
        f = _first(f, plain)
    return s, f, p, fi, pi


# ------------------------------------------------------------------ other fields

_EXT = re.compile(r"(доб|вн|ext|extension|x|#|\*|д\.)", re.I)


def clean_phone(s: str):
    if not s:
        return None
    s = re.split(r"[,;/]|\s{2,}", s.strip())[0]  # first of several numbers
    s = _EXT.split(s, maxsplit=1)[0]
    d = re.sub(r"\D", "", s)
    if len(d) == 11 and d[0] in "78":
        d = d[1:]
    elif len(d) > 11 and d[0] in "78":  # extension glued on without a marker
        d = d[1:11]
    elif len(d) > 10:
        d = d[:10]
    return d if len(d) == 10 else None


def clean_email(s: str):
    s = (s or "").strip().lower().strip("<>\"' ;,")
    s = s.replace("mailto:", "")
    if "@" not in s or s.startswith("@") or s.endswith("@"):
        return None
    return s


LEGAL_LONG = re.compile(
    r"(общество\s+с\s+ограниченной\s+ответственностью|"
    r"(публичное|непубличное|закрытое|открытое)?\s*акционерное\s+общество|"
    r"индивидуальный\s+предприниматель|некоммерческая\s+организация|"
    r"автономная\s+некоммерческая\s+организация|limited\s+liability\s+company)", re.I)
LEGAL_SHORT = {latin_key(x) for x in
               "ооо оао зао пао ао нао ип чп нко ано гуп муп фгуп ано тоо одо пк снт тсж "
               "llc ltd inc corp gmbh co".split()} | {"ooo", "oao", "zao", "pao", "ao", "ip"}


LEGAL_IN_NAME = re.compile(
    r"(^|[\s\"«])(ООО|ОАО|ЗАО|ПАО|АО|НАО|ИП|OOO|OAO|ZAO|PAO|AO|IP|LLC)(?=$|[\s\"«.,])|[«»]|"
    r"общество\s+с|акционерное\s+общество|индивидуальный\s+предприниматель")


def clean_company(s: str):
    if not s:
        return None
    s = LEGAL_LONG.sub(" ", s.lower().replace("ё", "е"))
    words = [latin_key(w, digits=True) for w in re.split(r"[\s\"'«»“”„<>(),.]+", s)]
    words = [w for w in words if w and w not in LEGAL_SHORT]
    return " ".join(words) or None


CITY_ALIASES = {"msk": "moskva", "moscow": "moskva", "spb": "sanktpeterburg",
                "piter": "sanktpeterburg", "saintpetersburg": "sanktpeterburg",
                "stpetersburg": "sanktpeterburg", "speterburg": "sanktpeterburg",
                "ekb": "ekaterinburg", "nsk": "novosibirsk",
                "nnovgorod": "nizhninovgorod"}


def clean_city(s: str):
    if not s:
        return None
    s = s.strip().lower()
    s = re.sub(r"^(г\.|г\s|город\s|gorod\s|g\.\s*|city of\s)\s*", "", s)
    s = re.sub(r"(,|\s)\s*(г\.?|город)$", "", s)
    k = latin_key(s)
    return CITY_ALIASES.get(k, k) or None


ROLE_LOCALS = {"info", "mail", "office", "sales", "zakaz", "order", "orders", "admin", "support",
               "hr", "job", "buh", "buhgalteria", "secretary", "priemnaia", "reception",
               "contact", "contacts", "hello", "manager", "post", "pochta", "marketing",
               "director", "dir", "general", "service", "tender", "snab", "noreply"}


def email_local_key(email):
    """Local part for the "same mailbox name at another domain" level: +tags and
    . _ - dropped; None for role mailboxes (info@, sales@ ...), which say nothing."""
    if not email:
        return None
    local = email.split("@", 1)[0].split("+", 1)[0]
    if local in ROLE_LOCALS:
        return None
    local = re.sub(r"[._-]", "", local)
    return local or None


def clean_inn(s: str):
    d = re.sub(r"\D", "", s or "")
    return d if len(d) in (10, 12) else None


def clean(raw: pd.DataFrame, plain: bool) -> pd.DataFrame:
    recs = []
    for r in raw.itertuples(index=False):
        company, inn = clean_company(r.company), clean_inn(r.inn)
        full = (r.full_name or "").strip()
        if full and LEGAL_IN_NAME.search(full):
            # a company (or a sole trader's "ИП Фамилия Имя") typed into the name field
            s = f = p = None
            fi = pi = False
            company = company or clean_company(full)
        elif full:
            s, f, p, fi, pi = parse_full_name(full, plain)
        else:
            s, f, p, fi, pi = parse_split_name(r.last_name, r.first_name, r.middle_name, plain)
        email = clean_email(r.email)
        if s or f or p:
            kind = "person"
        elif company or inn:
            kind = "company"
        else:
            kind = "unknown"
        recs.append({
            "row_kind": kind,
            "surname": s, "first_name": f, "patronymic": p,
            "first_initial": fi, "patr_initial": pi,
            "phone": clean_phone(r.phone), "email": email,
            "email_local": email_local_key(email),
            "city": clean_city(r.city), "company": company, "inn": inn,
        })
    df = pd.DataFrame.from_records(recs)
    df.insert(0, "unique_id", range(len(df)))
    return df


# ------------------------------------------------------------------ Splink model

# Rows of a person and rows of a company are different entities (the truth has one id per
# person and one per company): pairs are only formed within one kind; rows with neither a
# name nor a company (phone / e-mail only) may pair with either.
KIND_OK = "(l.row_kind = r.row_kind OR l.row_kind = 'unknown' OR r.row_kind = 'unknown')"


class Model:
    """Model choices; the defaults are the baseline. Switched only to compare variants."""
    kind_blocking = True        # KIND_OK in every blocking rule
    phone_tf = False            # term-frequency adjustment on phone (switchboards)
    email_local_tf = True       # term-frequency adjustment on the local-part level
    first_tf = True             # term-frequency adjustment on first name exact
    em_blocks = ("email", "surname+first_name")


def _rule(cols: str) -> str:
    cond = " AND ".join(f"l.{c} = r.{c}" for c in cols.split("+"))
    return f"{cond} AND {KIND_OK}" if Model.kind_blocking else cond


def build_settings():
    import splink.comparison_library as cl
    import splink.comparison_level_library as cll
    from splink import SettingsCreator

    def name_with_initial(col, flag, jw, tf=False):
        return cl.CustomComparison(
            output_column_name=col,
            comparison_levels=[
                cll.NullLevel(col),
                cll.CustomLevel(
                    f"({flag}_l OR {flag}_r) AND (starts_with({col}_l, {col}_r) "
                    f"OR starts_with({col}_r, {col}_l))",
                    label_for_charts=f"{col}: initial agrees"),
                cll.ExactMatchLevel(col, term_frequency_adjustments=tf),
                cll.JaroWinklerLevel(col, jw),
                cll.ElseLevel(),
            ])

    local_level = {"sql_condition": "email_local_l = email_local_r",
                   "label_for_charts": "e-mail local part equal"}
    if Model.email_local_tf:
        local_level.update(tf_adjustment_column="email_local", tf_adjustment_weight=1.0)
    comparisons = [
        cl.JaroWinklerAtThresholds("surname", [0.92, 0.88]).configure(
            term_frequency_adjustments=True),
        name_with_initial("first_name", "first_initial", 0.88, tf=Model.first_tf),
        name_with_initial("patronymic", "patr_initial", 0.88),
        cl.ExactMatch("phone").configure(term_frequency_adjustments=Model.phone_tf),
        cl.CustomComparison(
            output_column_name="email",
            comparison_levels=[
                cll.NullLevel("email"),
                cll.ExactMatchLevel("email"),
                local_level,
                cll.ElseLevel(),
            ]),
        cl.ExactMatch("city"),
        cl.JaroWinklerAtThresholds("company", [0.9]),
        cl.ExactMatch("inn"),
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            _rule("phone"), _rule("email"), _rule("surname+first_name"), _rule("inn")],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _guard_em_underflow():
    """Splink 5 refuses an m or u below 1e-300, which EM reaches when a level (say "city
    differs") is never seen among matches of a training block: the estimate underflows
    to 0.0 and training stops with a ValueError. Floor the M-step's estimates at that
    bound instead (a weight of about -1000 bits: what the data say). No-op elsewhere."""
    try:
        from splink.internals import expectation_maximisation as em
    except ImportError:
        return
    if getattr(em.maximisation_step, "_floored", False):
        return
    orig = em.maximisation_step

    def floored(*a, **k):
        recs = k.get("param_records", a[2] if len(a) > 2 else [])
        for r in recs:
            for key in ("m_probability", "u_probability"):
                v = r.get(key)
                if isinstance(v, float) and v < 1e-300:
                    r[key] = 1e-300
        return orig(*a, **k)

    floored._floored = True
    em.maximisation_step = floored


def run_splink(df: pd.DataFrame, args, thresholds):
    from splink import DuckDBAPI, Linker
    import duckdb

    _guard_em_underflow()
    con = duckdb.connect()
    con.execute(f"SET threads TO {args.threads}")
    db_api = DuckDBAPI(con)
    level = logging.INFO if args.verbose else logging.ERROR
    if hasattr(db_api, "register"):  # Splink 5: tables are registered with the db api
        linker = Linker(db_api.register(df, dataset_display_name="rows"), build_settings(),
                        log_level=level)
    else:  # Splink 4: Linker(table, settings, db_api)
        linker = Linker(df, build_settings(), db_api, set_up_basic_logging=False)
        logging.getLogger("splink").setLevel(level)
    t = {}
    t0 = time.time()
    linker.training.estimate_probability_two_random_records_match(
        ["l.phone = r.phone AND l.surname = r.surname",
         "l.email = r.email AND l.surname = r.surname"],
        recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_pairs, seed=args.seed)
    t["u"] = time.time() - t0
    t0 = time.time()
    # EM: each comparison is estimated in at least one session
    for cols in Model.em_blocks:
        linker.training.estimate_parameters_using_expectation_maximisation(_rule(cols))
    t["em"] = time.time() - t0
    t0 = time.time()
    pred = linker.inference.predict(threshold_match_probability=min(thresholds))
    t["predict"] = time.time() - t0
    t0 = time.time()
    clusters = {}
    for th in thresholds:
        c = linker.clustering.cluster_pairwise_predictions_at_threshold(
            pred, threshold_match_probability=th)
        cdf = c.as_pandas_dataframe()[["unique_id", "cluster_id"]]
        clusters[th] = cdf
        c.drop_table_from_database_and_remove_from_cache()
    t["cluster"] = time.time() - t0
    n_pairs = con.execute(f"select count(*) from {pred.physical_name}").fetchone()[0]
    return clusters, t, n_pairs, linker


# ------------------------------------------------------------------ scoring

def pairwise(truth: pd.Series, pred: pd.Series):
    def pairs(groups):
        n = groups.size()
        return int((n * (n - 1) // 2).sum())

    d = pd.DataFrame({"t": truth.values, "p": pred.values})
    tp_all = pairs(d.groupby("t"))
    pp = pairs(d.groupby("p"))
    cp = pairs(d.groupby(["t", "p"]))
    p = cp / pp if pp else 1.0
    r = cp / tp_all if tp_all else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f,
            "true_pairs": tp_all, "predicted_pairs": pp, "correct_pairs": cp}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--threshold", type=float, default=0.95,
                    help="match probability at which clusters are cut (default 0.95)")
    ap.add_argument("--json", action="store_true", help="print a JSON object")
    ap.add_argument("--plain", action="store_true",
                    help="no keyboard-layout fix and no everyday-name map in cleaning")
    ap.add_argument("--u-pairs", type=float, default=1e7,
                    help="max pairs for u by random sampling (default 1e7)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="Splink's own log")
    args = ap.parse_args()

    import splink

    t_start = time.time()
    raw = pd.read_csv(args.csv, dtype=str, keep_default_na=False, encoding="utf-8")
    need = ["entity_id", "full_name", "last_name", "first_name", "middle_name", "phone",
            "email", "city", "company", "inn"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        sys.exit(f"missing columns: {missing}")
    t0 = time.time()
    df = clean(raw, args.plain)
    t_clean = time.time() - t0

    thresholds = sorted(set(THRESHOLDS) | {args.threshold})
    clusters, t, n_pairs, _ = run_splink(df, args, thresholds)

    truth = raw["entity_id"]
    results = {}
    for th, cdf in clusters.items():
        cdf = cdf.sort_values("unique_id")
        assert len(cdf) == len(raw), "clustering lost rows"
        results[th] = pairwise(truth, cdf["cluster_id"].reset_index(drop=True))
        results[th]["clusters"] = int(cdf["cluster_id"].nunique())
    best = max(THRESHOLDS, key=lambda th: results[th]["f1"])
    out = {
        "input": args.csv, "rows": len(raw), "entities": int(truth.nunique()),
        "splink_version": splink.__version__, "plain": args.plain,
        "threshold": args.threshold, "result": results[args.threshold],
        "by_threshold": {str(th): results[th] for th in THRESHOLDS},
        "best_threshold": best, "best": results[best],
        "scored_pairs_at_min_threshold": n_pairs,
        "fill": {c: round(float(df[c].notna().mean()), 4)
                 for c in ["surname", "first_name", "patronymic", "phone", "email", "city",
                           "company", "inn"]},
        "seconds": {"clean": round(t_clean, 2), **{k: round(v, 2) for k, v in t.items()},
                    "total": round(time.time() - t_start, 2)},
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    print(f"Splink {out['splink_version']} baseline on {args.csv}: {out['rows']} rows, "
          f"{out['entities']} entities{' (plain cleaning)' if args.plain else ''}")
    print(f"{'threshold':>9}  {'precision':>9}  {'recall':>7}  {'F1':>7}  {'clusters':>8}  "
          f"{'pred pairs':>10}  {'true pairs':>10}")
    for th in THRESHOLDS + ([args.threshold] if args.threshold not in THRESHOLDS else []):
        r = results[th]
        mark = " <- --threshold" if th == args.threshold else ""
        mark += " (best F1)" if th == best else ""
        print(f"{th:>9}  {r['precision']:>9.4f}  {r['recall']:>7.4f}  {r['f1']:>7.4f}  "
              f"{r['clusters']:>8}  {r['predicted_pairs']:>10}  {r['true_pairs']:>10}{mark}")
    s = out["seconds"]
    print(f"time: clean {s['clean']}s, u+prior {s['u']}s, EM {s['em']}s, predict {s['predict']}s"
          f", cluster {s['cluster']}s, total {s['total']}s")


if __name__ == "__main__":
    main()
