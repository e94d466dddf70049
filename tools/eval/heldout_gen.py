#!/usr/bin/env python3
"""Held-out evaluation data for leadpipe's deduplication.

Writes a three-source lead base in the style of real Russian lead data, with ground truth
(`entity_id`: one id per real person, one per company) and switchable corruption families.
Independent of `leadpipe gen`: its own name lists, phone and e-mail habits and corruptions.

    python3 tools/eval/heldout_gen.py --out DIR --seed 1 --people 20000
    python3 tools/eval/heldout_gen.py --out DIR --typo-rate 0.10 --translit icao --translit-rate 0.2
    python3 tools/eval/heldout_gen.py --out DIR --all-off --typo      # one family alone

Files: form.jsonl (web form, UTF-8), vendor.csv (purchased list, CP1251, `;`),
directory.csv (directory/CRM export, UTF-8, `,`), pipeline.toml (leadpipe pipeline reading
the three), all_rows.csv (every row's raw values, for baselines), row_tags.csv (per row: the
entity's kind or hard-negative group, whether it is the entity's first row, the corruptions
applied; read by tools/eval/score.py), truth_summary.json (counts per family).

Corruptions are applied to repeat appearances of an entity (its first row is written
plainly, in the habits of its source), each family drawn independently per row. Hard
negatives (relatives, namesakes, shared switchboards, similar companies, colleagues) are
separate entities that look alike. Standard library only; deterministic for a seed.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

# --------------------------------------------------------------------------------------
# Name lists (male surname form, weight ~ relative frequency)
# --------------------------------------------------------------------------------------

SURNAMES_W = """
Иванов 100|Смирнов 95|Кузнецов 90|Попов 80|Васильев 75|Петров 75|Соколов 70|Михайлов 60
Новиков 55|Фёдоров 55|Морозов 50|Волков 50|Алексеев 45|Лебедев 45|Семёнов 42|Егоров 40
Павлов 40|Козлов 38|Степанов 38|Николаев 36|Орлов 35|Андреев 35|Макаров 33|Никитин 33
Захаров 32|Зайцев 31|Соловьёв 30|Борисов 30|Яковлев 28|Григорьев 28|Романов 27|Воробьёв 26
Сергеев 26|Кузьмин 25|Фролов 25|Александров 24|Дмитриев 24|Королёв 23|Гусев 23|Киселёв 22
Ильин 22|Максимов 21|Поляков 21|Сорокин 20|Виноградов 20|Ковалёв 20|Белов 19|Медведев 19
Антонов 18|Тарасов 18|Жуков 18|Баранов 17|Филиппов 17|Комаров 16|Давыдов 16|Беляев 16
Герасимов 15|Богданов 15|Осипов 15|Сидоров 15|Матвеев 14|Титов 14|Марков 14|Миронов 13
Крылов 13|Куликов 13|Карпов 12|Власов 12|Мельников 12|Денисов 12|Гаврилов 11|Тихонов 11
Казаков 11|Афанасьев 10|Данилов 10|Савельев 10|Тимофеев 10|Фомин 10|Чернов 9|Абрамов 9
Мартынов 9|Ефимов 9|Федотов 8|Щербаков 8|Назаров 8|Калинин 8|Исаев 8|Чернышёв 7|Быков 7
Маслов 7|Родионов 7|Коновалов 7|Лазарев 7|Воронин 6|Климов 6|Филатов 6|Пономарёв 6
Голубев 6|Кудрявцев 6|Прохоров 5|Наумов 5|Потапов 5|Журавлёв 5|Овчинников 5|Трофимов 5
Леонов 5|Соболев 4|Ермаков 4|Колесников 4|Гончаров 4|Емельянов 4|Никифоров 4|Грачёв 4
Котов 4|Гришин 4|Ефремов 3|Архипов 3|Громов 3|Кириллов 3|Малышев 3|Панов 3|Моисеев 3
Румянцев 3|Акимов 3|Кондратьев 3|Бирюков 3|Горбунов 3|Анисимов 3|Ерёмин 3|Тихомиров 2
Галкин 2|Лукьянов 2|Михеев 2|Скворцов 2|Юдин 2|Белоусов 2|Нестеров 2|Симонов 2|Прокофьев 2
Харитонов 2|Князев 2|Цветков 2|Левин 2|Митрофанов 2|Воронцов 2|Аксёнов 2|Мальцев 2|Логинов 2
Горшков 2|Савин 2|Краснов 2|Майоров 2|Демидов 2|Елисеев 2|Рыбаков 2|Сафонов 2|Плотников 2
Дёмин 2|Хохлов 2|Жданов 2|Островский 1|Вишневский 1|Ковальчук 1|Шевченко 1|Бондаренко 1
Кравченко 1|Черных 1|Толстой 1|Белых 1|Садыков 1|Хабибуллин 1|Гарипов 1|Ахметов 1|Шарипов 1
Мамедов 1|Алиев 1|Гасанов 1|Ким 1|Цой 1|Пак 1|Рябов 1|Шубин 1|Щукин 1|Шилов 1|Дьячков 1
Ежов 1|Зуев 1|Зыков 1|Кошелев 1|Мухин 1|Носков 1|Пестов 1|Русаков 1|Сычёв 1|Тетерин 1
Ульянов 1|Уткин 1|Хромов 1|Чистяков 1|Шестаков 1|Шмелёв 1|Юсупов 1|Ястребов 1|Кулаков 1
Кулагин 1|Жилин 1|Корнилов 1|Вяткин 1|Подгорный 1|Луговой 1|Долгих 1|Седых 1|Макаренко 1
Литвиненко 1|Полищук 1|Ткачук 1|Ярошевич 1|Дубровский 1|Зарецкий 1|Галиев 1|Нуриев 1
"""

MALE_W = """
Александр 100|Сергей 85|Дмитрий 80|Андрей 75|Алексей 75|Максим 60|Евгений 55|Иван 55
Михаил 50|Артём 45|Владимир 45|Николай 40|Никита 40|Денис 35|Павел 35|Роман 35|Игорь 30
Олег 30|Антон 30|Илья 30|Кирилл 30|Виктор 28|Юрий 25|Владислав 25|Константин 22|Вадим 20
Егор 20|Даниил 20|Василий 18|Тимур 15|Анатолий 15|Вячеслав 15|Георгий 12|Станислав 12
Руслан 12|Валерий 10|Григорий 10|Фёдор 10|Пётр 10|Геннадий 9|Леонид 9|Борис 8|Виталий 8
Марат 7|Ярослав 7|Матвей 7|Глеб 7|Степан 6|Арсений 6|Лев 6|Семён 5|Ринат 5|Эдуард 5
Артур 5|Валентин 4|Аркадий 4|Филипп 4|Тимофей 4|Марк 4|Святослав 3|Всеволод 3|Ростислав 3
Богдан 3|Захар 3|Савелий 3|Платон 3|Эльдар 3|Рустам 3|Ильдар 2|Айдар 2|Азат 2|Тагир 2
Родион 2|Яков 2|Герман 2|Лука 1|Фома 1|Кузьма 1|Савва 1|Емельян 1|Прохор 1|Назар 1|Елисей 1
"""

FEMALE_W = """
Елена 80|Ольга 75|Наталья 70|Татьяна 70|Анна 65|Екатерина 60|Мария 60|Ирина 55|Светлана 50
Юлия 45|Анастасия 45|Марина 40|Людмила 35|Галина 30|Дарья 30|Надежда 28|Валентина 25
Ксения 25|Виктория 25|Алина 22|Елизавета 20|Полина 20|Любовь 18|Оксана 18|Александра 18
Кристина 16|Вера 16|Евгения 15|Софья 14|Валерия 14|Алёна 13|Нина 12|Лариса 12|Вероника 11
Маргарита 10|Тамара 10|Жанна 8|Лилия 8|Диана 8|Яна 8|Инна 7|Олеся 7|Ульяна 6|Анжела 5
Зоя 5|Лидия 5|Алла 5|Эльвира 4|Регина 4|Карина 4|Милана 4|Василиса 4|Варвара 4|Таисия 3
Арина 3|Ангелина 3|Кира 3|Антонина 3|Раиса 3|Злата 2|Майя 2|Эвелина 2|Снежана 2|Нелли 2
Гульнара 2|Альбина 2|Диляра 2|Влада 2|Лиана 1|Евдокия 1|Ефросинья 1|Стефания 1|Мирослава 1
Есения 1|Серафима 1|Агата 1|Милена 1|Камила 1|Роза 1|Фаина 1|Римма 1|Клавдия 1|Инга 1
"""


def _weighted(text):
    items = []
    for chunk in text.replace("\n", "|").split("|"):
        chunk = chunk.strip()
        if chunk:
            name, w = chunk.rsplit(" ", 1)
            items.append((name, float(w)))
    return items


SURNAMES = _weighted(SURNAMES_W)
MALE = _weighted(MALE_W)
FEMALE = _weighted(FEMALE_W)

SURNAME_INVARIANT = {"Ким", "Пак", "Цой"}


def fem_surname(s):
    if s in SURNAME_INVARIANT:
        return s
    for suf, rep in (("ский", "ская"), ("цкий", "цкая"), ("ой", "ая"), ("ый", "ая")):
        if s.endswith(suf):
            return s[: -len(suf)] + rep
    if s.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return s + "а"
    return s  # Черных, Шевченко, Ковальчук, Ярошевич


# Patronymics: the rules, with the irregular ones listed.
PATRONYMIC_SPECIAL = {
    "Лев": ("Львович", "Львовна"),
    "Павел": ("Павлович", "Павловна"),
    "Пётр": ("Петрович", "Петровна"),
    "Илья": ("Ильич", "Ильинична"),
    "Лука": ("Лукич", "Лукинична"),
    "Фома": ("Фомич", "Фоминична"),
    "Кузьма": ("Кузьмич", "Кузьминична"),
    "Никита": ("Никитич", "Никитична"),
    "Савва": ("Саввич", "Саввична"),
    "Яков": ("Яковлевич", "Яковлевна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Георгий": ("Георгиевич", "Георгиевна"),
    "Юрий": ("Юрьевич", "Юрьевна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Даниил": ("Данилович", "Даниловна"),
    "Арсений": ("Арсеньевич", "Арсеньевна"),
}


def patronymic(father, female):
    if father in PATRONYMIC_SPECIAL:
        return PATRONYMIC_SPECIAL[father][1 if female else 0]
    if father.endswith("ий"):  # Василий → Васильевич
        stem = father[:-2] + "ье"
    elif father.endswith(("ей", "ай")):  # Сергей → Сергеевич, Николай → Николаевич
        stem = father[:-1] + "е"
    elif father.endswith("ь"):  # Игорь → Игоревич
        stem = father[:-1] + "е"
    elif father[-1] in "жшчщц":
        stem = father + "е"
    elif father[-1] in "аяо":
        stem = father[:-1] + "о"
    else:  # Иван → Иванович, Тимур → Тимурович
        stem = father + "о"
    return stem + ("вна" if female else "вич")


DIMINUTIVES = {
    "Александр": ["Саша", "Шура", "Саня"], "Сергей": ["Серёжа", "Серёга"],
    "Дмитрий": ["Дима", "Митя"], "Андрей": ["Андрюша"], "Алексей": ["Лёша", "Алёша"],
    "Максим": ["Макс"], "Евгений": ["Женя"], "Иван": ["Ваня"], "Михаил": ["Миша"],
    "Артём": ["Тёма"], "Владимир": ["Вова", "Володя"], "Николай": ["Коля"],
    "Павел": ["Паша"], "Роман": ["Рома"], "Антон": ["Антоша"], "Илья": ["Илюша"],
    "Кирилл": ["Киря"], "Виктор": ["Витя"], "Юрий": ["Юра"], "Владислав": ["Влад", "Слава"],
    "Константин": ["Костя"], "Вадим": ["Вадик"], "Даниил": ["Даня"], "Василий": ["Вася"],
    "Анатолий": ["Толя"], "Вячеслав": ["Слава"], "Георгий": ["Гоша", "Жора"],
    "Станислав": ["Стас"], "Валерий": ["Валера"], "Григорий": ["Гриша"], "Фёдор": ["Федя"],
    "Пётр": ["Петя"], "Геннадий": ["Гена"], "Леонид": ["Лёня"], "Борис": ["Боря"],
    "Виталий": ["Виталик"], "Ярослав": ["Ярик", "Слава"], "Степан": ["Стёпа"],
    "Семён": ["Сёма"], "Эдуард": ["Эдик"], "Валентин": ["Валя"], "Аркадий": ["Аркаша"],
    "Тимофей": ["Тима"], "Яков": ["Яша"], "Родион": ["Родя"], "Герман": ["Гера"],
    "Тимур": ["Тима"], "Денис": ["Дэн"], "Егор": ["Егорка"], "Никита": ["Никитос"],
    "Елена": ["Лена"], "Ольга": ["Оля"], "Наталья": ["Наташа", "Ната"], "Татьяна": ["Таня"],
    "Анна": ["Аня"], "Екатерина": ["Катя"], "Мария": ["Маша"], "Ирина": ["Ира"],
    "Светлана": ["Света"], "Юлия": ["Юля"], "Анастасия": ["Настя"], "Людмила": ["Люда", "Мила"],
    "Галина": ["Галя"], "Дарья": ["Даша"], "Надежда": ["Надя"], "Валентина": ["Валя"],
    "Ксения": ["Ксюша"], "Виктория": ["Вика"], "Елизавета": ["Лиза"], "Полина": ["Поля"],
    "Любовь": ["Люба"], "Оксана": ["Ксана"], "Александра": ["Саша"], "Евгения": ["Женя"],
    "Софья": ["Соня"], "Валерия": ["Лера"], "Вероника": ["Ника"], "Маргарита": ["Рита"],
    "Тамара": ["Тома"], "Лидия": ["Лида"], "Антонина": ["Тоня"], "Раиса": ["Рая"],
    "Варвара": ["Варя"], "Ангелина": ["Геля"], "Ульяна": ["Уля"], "Клавдия": ["Клава"],
    "Евдокия": ["Дуся"], "Таисия": ["Тая"], "Алина": ["Аля"], "Кристина": ["Кристи"],
}

# --------------------------------------------------------------------------------------
# Transliteration, keyboard layout, typos
# --------------------------------------------------------------------------------------

ICAO = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
    "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia"]))

GOST_B = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", [
    "a", "b", "v", "g", "d", "e", "yo", "zh", "z", "i", "j", "k", "l", "m", "n", "o", "p", "r",
    "s", "t", "u", "f", "x", "cz", "ch", "sh", "shh", "``", "y`", "`", "e`", "yu", "ya"]))

# everyday spelling: several choices per letter
LOOSE = {
    "а": ["a"], "б": ["b"], "в": ["v"], "г": ["g"], "д": ["d"], "е": ["e"], "ё": ["e", "yo"],
    "ж": ["zh"], "з": ["z"], "и": ["i"], "й": ["y", "i", "j"], "к": ["k"], "л": ["l"],
    "м": ["m"], "н": ["n"], "о": ["o"], "п": ["p"], "р": ["r"], "с": ["s"], "т": ["t"],
    "у": ["u"], "ф": ["f"], "х": ["kh", "h"], "ц": ["ts", "c", "tz"], "ч": ["ch"],
    "ш": ["sh"], "щ": ["sch", "shch", "sh"], "ъ": [""], "ы": ["y", "i"], "ь": ["", "", "'"],
    "э": ["e"], "ю": ["yu", "ju", "iu"], "я": ["ya", "ia", "ja"],
}

LOOSE_FIRST = {
    "Александр": ["Alexander", "Aleksandr", "Alexandr", "Alex"],
    "Алексей": ["Alexey", "Aleksey", "Alexei", "Aleksei", "Alex"],
    "Юлия": ["Julia", "Yulia", "Yuliya", "Iuliia"], "Наталья": ["Natalya", "Natalia", "Natalja"],
    "Анастасия": ["Anastasia", "Anastasiya", "Anastasija"], "Сергей": ["Sergey", "Sergei", "Serge"],
    "Мария": ["Maria", "Mariya", "Mariia"], "Евгений": ["Evgeny", "Evgeniy", "Eugene", "Yevgeny"],
    "Евгения": ["Evgenia", "Eugenia", "Evgeniya"], "Екатерина": ["Ekaterina", "Katerina", "Yekaterina"],
    "Дмитрий": ["Dmitry", "Dmitriy", "Dmitrii"], "Михаил": ["Mikhail", "Michael", "Mihail"],
    "Ксения": ["Ksenia", "Kseniya", "Xenia"], "Кристина": ["Kristina", "Christina"],
    "Виктория": ["Victoria", "Viktoriya", "Viktoria"], "Юрий": ["Yury", "Yuri", "Iurii", "Yuriy"],
    "Илья": ["Ilya", "Ilia"], "Андрей": ["Andrey", "Andrei"], "Николай": ["Nikolay", "Nikolai"],
    "Павел": ["Pavel", "Paul"], "Пётр": ["Petr", "Pyotr", "Peter"], "Фёдор": ["Fedor", "Fyodor"],
    "Артём": ["Artem", "Artyom"], "Татьяна": ["Tatiana", "Tatyana"], "Софья": ["Sofia", "Sofya"],
    "Дарья": ["Daria", "Darya"], "Максим": ["Maxim", "Maksim"], "Алёна": ["Alena", "Alyona"],
    "Елена": ["Elena", "Yelena"], "Ольга": ["Olga"], "Анна": ["Anna"], "Настя": ["Nastya", "Nastia"],
    "Валерия": ["Valeria", "Valeriya"], "Георгий": ["Georgy", "Georgiy", "George"],
}

LAYOUT = dict(zip(
    "йцукенгшщзхъфывапролджэячсмитьбю.,ё",
    "qwertyuiop[]asdfghjkl;'zxcvbnm,./?`"))
LAYOUT.update(zip(
    "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ",
    "QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~"))

KB_ROWS = ["йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю"]
KB_POS = {c: (r, i) for r, row in enumerate(KB_ROWS) for i, c in enumerate(row)}


def kb_neighbours(ch):
    low = ch.lower()
    if low == "ё":
        low = "е"
    if low not in KB_POS:
        return []
    r, i = KB_POS[low]
    out = []
    for dr, di in ((0, -1), (0, 1), (-1, 0), (-1, 1), (1, -1), (1, 0)):
        rr, ii = r + dr, i + di
        if 0 <= rr < 3 and 0 <= ii < len(KB_ROWS[rr]):
            out.append(KB_ROWS[rr][ii])
    if ch.isupper():
        out = [c.upper() for c in out]
    return out


def typo(word, rng):
    """One keyboard typo: deletion, insertion, neighbour substitution or transposition."""
    if len(word) < 3:
        return word, None
    op = rng.choice(["del", "ins", "sub", "swap"])
    i = rng.randrange(1, len(word))  # keep the first letter more often than not
    if rng.random() < 0.1:
        i = 0
    if op == "del":
        return word[:i] + word[i + 1:], op
    if op == "ins":
        nb = kb_neighbours(word[i]) or [word[i]]
        c = rng.choice(nb + [word[i]])  # neighbour or a doubled letter
        c = c.lower() if i > 0 else c
        return word[:i] + c + word[i:], op
    if op == "sub":
        nb = kb_neighbours(word[i])
        if not nb:
            return word[:i] + word[i + 1:], "del"
        return word[:i] + rng.choice(nb) + word[i + 1:], op
    if i == len(word) - 1:
        i -= 1
    sw = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if i == 0:
        sw = sw[0].upper() + sw[1:].lower() if word[0].isupper() else sw
    return sw, op


def _case_like(src, out):
    if not out:
        return out
    if src.isupper() and len(src) > 1:
        return out.upper()
    if src[:1].isupper():
        return out[0].upper() + out[1:]
    return out


def translit(word, system, rng, first_name=None):
    """Latin spelling of one word under `system` (gost, gost-simple, icao, loose)."""
    if system == "loose" and first_name and first_name in LOOSE_FIRST and word == first_name:
        return rng.choice(LOOSE_FIRST[first_name])
    low = word.lower()
    out = []
    i = 0
    while i < len(low):
        c = low[i]
        nxt = low[i + 1] if i + 1 < len(low) else ""
        if system == "icao":
            out.append(ICAO.get(c, c))
        elif system in ("gost", "gost-simple"):
            t = GOST_B.get(c, c)
            if c == "ц" and nxt in "иеыйiey":
                t = "c"
            if system == "gost-simple":
                t = t.replace("`", "")
            out.append(t)
        else:  # loose
            if c == "к" and nxt == "с" and rng.random() < 0.4:
                out.append("x")
                i += 2
                continue
            if c == "и" and nxt == "й" and i + 2 == len(low):
                out.append(rng.choice(["iy", "y", "ii", "i"]))
                i += 2
                continue
            if c == "е" and (i == 0 or low[i - 1] in "аеёиоуыэюяьъ") and rng.random() < 0.3:
                out.append("ye")
            else:
                out.append(rng.choice(LOOSE.get(c, [c])))
        i += 1
    return _case_like(word, "".join(out))


def layout(text):
    return "".join(LAYOUT.get(c, c) for c in text)


def email_translit(word):
    low = word.lower()
    return "".join({"й": "y", "х": "kh", "ц": "ts", "щ": "sch", "ъ": "", "ь": "", "ю": "yu",
                    "я": "ya", "ё": "e"}.get(c, ICAO.get(c, c)) for c in low)


# --------------------------------------------------------------------------------------
# Places, phones, e-mail domains
# --------------------------------------------------------------------------------------

# city, weight, landline area codes, ИНН region prefix
CITIES = [
    ("Москва", 30, ["495", "499"], "77"), ("Санкт-Петербург", 12, ["812"], "78"),
    ("Новосибирск", 3, ["383"], "54"), ("Екатеринбург", 3, ["343"], "66"),
    ("Казань", 3, ["843"], "16"), ("Нижний Новгород", 3, ["831"], "52"),
    ("Челябинск", 2, ["351"], "74"), ("Самара", 2, ["846"], "63"), ("Омск", 2, ["3812"], "55"),
    ("Ростов-на-Дону", 2, ["863"], "61"), ("Уфа", 2, ["347"], "02"),
    ("Красноярск", 2, ["391"], "24"), ("Воронеж", 2, ["473"], "36"), ("Пермь", 2, ["342"], "59"),
    ("Волгоград", 2, ["8442"], "34"), ("Краснодар", 2, ["861"], "23"),
    ("Саратов", 1, ["8452"], "64"), ("Тюмень", 1, ["3452"], "72"), ("Ижевск", 1, ["3412"], "18"),
    ("Барнаул", 1, ["3852"], "22"), ("Иркутск", 1, ["3952"], "38"),
    ("Хабаровск", 1, ["4212"], "27"), ("Ярославль", 1, ["4852"], "76"),
    ("Владивосток", 1, ["423"], "25"), ("Томск", 1, ["3822"], "70"),
    ("Оренбург", 1, ["3532"], "56"), ("Кемерово", 1, ["3842"], "42"), ("Рязань", 1, ["4912"], "62"),
    ("Пенза", 1, ["8412"], "58"), ("Липецк", 1, ["4742"], "48"), ("Тула", 1, ["4872"], "71"),
    ("Калининград", 1, ["4012"], "39"), ("Сочи", 1, ["862"], "23"), ("Тверь", 1, ["4822"], "69"),
]
CITY_INFO = {c[0]: c for c in CITIES}
CITY_LATIN = {"Москва": ["Moscow", "Moskva"], "Санкт-Петербург": ["Saint Petersburg", "St. Petersburg", "Sankt-Peterburg"],
              "Нижний Новгород": ["Nizhny Novgorod"], "Ростов-на-Дону": ["Rostov-on-Don"]}
CITY_EXTRA = {"Москва": ["Мск", "г.Москва", "Москва г"], "Санкт-Петербург": ["СПб", "С-Петербург", "Санкт Петербург", "г. СПб", "Питер"],
              "Екатеринбург": ["Екб"], "Нижний Новгород": ["Н. Новгород", "Н.Новгород"], "Ростов-на-Дону": ["Ростов на Дону", "Ростов"]}

MOBILE_CODES = (["900", "901", "902", "903", "904", "905", "906", "908", "909"]
                + [str(c) for c in range(910, 940)] + ["950", "951", "952", "953", "958"]
                + [str(c) for c in range(960, 970)] + ["977", "978", "980", "981", "982", "983",
                                                       "984", "985", "986", "987", "988", "989"]
                + [str(c) for c in range(991, 1000)])
MOBILE_W = [6 if c in ("903", "905", "909", "915", "916", "926", "925", "985", "910", "911", "921", "999", "962", "963", "964", "965", "967", "968") else 2
            for c in MOBILE_CODES]

FREE_DOMAINS = [("mail.ru", 35), ("yandex.ru", 25), ("gmail.com", 20), ("bk.ru", 5), ("list.ru", 5),
                ("inbox.ru", 4), ("rambler.ru", 4), ("ya.ru", 2)]
DOMAIN_TYPOS = {
    "mail.ru": ["mial.ru", "mail.ry", "maill.ru", "mai.ru", "mail.rj", "meil.ru"],
    "yandex.ru": ["yandex.ry", "yandx.ru", "yadex.ru", "yandex.ri", "ynadex.ru"],
    "gmail.com": ["gmail.con", "gmial.com", "gmail.co", "gmai.com", "gmail.cm", "gmal.com"],
    "bk.ru": ["bk.ry", "bkk.ru"], "list.ru": ["lsit.ru", "list.ry"], "inbox.ru": ["inbox.ry", "inbx.ru"],
    "rambler.ru": ["ramler.ru", "rambler.ry"], "ya.ru": ["ya.ry", "yaa.ru"],
}

# --------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------

CO_ROOT1 = ("Строй Торг Техно Агро Мед Энерго Пром Авто Транс Лес Металл Хим Фарм Инфо Гео Эко "
            "Спец Проф Евро Сиб Урал Волга Нева Север Юг Бизнес Финанс Снаб Электро Тепло Сантех "
            "Мебель Стекло Бетон Кабель Полимер Текс Тур Альфа Омега Дельта Вектор Нефте Газ Агро "
            "Медиа Строй Торг").split()
CO_ROOT2 = ("Инвест Сервис Групп Ресурс Логистик Маркет Снаб Комплект Монтаж Проект Системс Трейд "
            "Холдинг Альянс Капитал Стандарт Пласт Лайн Торг Строй Техника Мастер Плюс Центр Софт "
            "Оптима Партнёр Развитие Консалт Регион").split()
CO_WORDS = ("Ромашка Вектор Гарант Меридиан Атлант Орион Прогресс Импульс Спектр Горизонт Радуга "
            "Феникс Сапфир Рубин Аврора Альянс Эталон Фортуна Олимп Стрела Магистраль Континент "
            "Сфера Квант Кристалл Парус Берёзка Теремок Колос Заря Восход Надежда Триумф Лидер "
            "Успех Перспектива Ника Империя Держава Ладога Байкал Алтай Таврида Рассвет Полюс "
            "Навигатор Созвездие Гранит Малахит Янтарь Сокол Беркут Вега Цитадель").split()
LEGAL = [("ООО", 62), ("АО", 8), ("ПАО", 3), ("ЗАО", 6), ("ИП", 21)]
LEGAL_LONG = {"ООО": "Общество с ограниченной ответственностью", "АО": "Акционерное общество",
              "ПАО": "Публичное акционерное общество", "ЗАО": "Закрытое акционерное общество",
              "ИП": "Индивидуальный предприниматель"}
LEGAL_LATIN = {"ООО": "OOO", "АО": "AO", "ПАО": "PAO", "ЗАО": "ZAO", "ИП": "IP"}
SIMILAR_SUFFIX = ["-М", " Плюс", "-Центр", " Групп", "-Юг", "-Сервис", "-2", " Про", "-Трейд"]


def inn10(rng, region):
    d = [int(c) for c in region] + [rng.randrange(10) for _ in range(7)]
    d[2] = rng.randrange(1, 10)
    c = sum(a * b for a, b in zip(d, [2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    return "".join(map(str, d)) + str(c)


def inn12(rng, region):
    d = [int(c) for c in region] + [rng.randrange(10) for _ in range(8)]
    d[2] = rng.randrange(1, 10)
    c1 = sum(a * b for a, b in zip(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    d.append(c1)
    c2 = sum(a * b for a, b in zip(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    return "".join(map(str, d)) + str(c2)


def inn_ok(inn):
    d = [int(c) for c in inn]
    if len(d) == 10:
        return sum(a * b for a, b in zip(d, [2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10 == d[9]
    if len(d) == 12:
        c1 = sum(a * b for a, b in zip(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
        c2 = sum(a * b for a, b in zip(d, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
        return c1 == d[10] and c2 == d[11]
    return False


# --------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------


class Person:
    __slots__ = ("id", "female", "last", "first", "middle", "city", "mobile", "landline", "email",
                 "alt_phones", "alt_emails", "company", "ext", "corp_email", "birth", "sloppy",
                 "patr_keep", "family_email", "kind", "appear", "group")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        self.alt_phones = []
        self.alt_emails = []


class Company:
    __slots__ = ("id", "name", "lf", "city", "inn", "phone", "ext", "phone800", "email", "domain",
                 "appear", "tags", "alt_phones", "alt_emails", "group")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        self.tags = []
        self.alt_phones = []
        self.alt_emails = []


class Phone:
    """A national number (10 digits) and the length of its area code."""
    __slots__ = ("nat", "code_len", "mobile")

    def __init__(self, nat, code_len, mobile):
        self.nat, self.code_len, self.mobile = nat, code_len, mobile


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.used_phones = set()
        self.used_emails = set()
        self.used_inn = set()
        self.used_co_names = set()
        self.next_id = 1
        self.persons = []
        self.companies = []
        self.stats = Counter()
        self.groups = Counter()
        self._cum = {}
        self.cur_tags = []

    # ---------------------------------------------------------------- random helpers
    def pick(self, items):
        """Weighted choice from [(value, weight)]; long constant lists keep their cumulative weights."""
        if len(items) > 16:
            hit = self._cum.get(id(items))
            if hit is None or hit[0] is not items:
                acc, cum = 0.0, []
                for _, w in items:
                    acc += w
                    cum.append(acc)
                hit = self._cum[id(items)] = (items, [v for v, _ in items], cum)
            return self.rng.choices(hit[1], cum_weights=hit[2])[0]
        return self.rng.choices([v for v, _ in items], [w for _, w in items])[0]

    def pick_other(self, items, taken):
        while True:
            v = self.pick(items)
            if v not in taken:
                return v

    def tag(self, name):
        self.cur_tags.append(name)

    def chance(self, p):
        return self.rng.random() < p

    def new_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def on(self, fam):
        return getattr(self.a, fam)

    def rate(self, fam):
        return getattr(self.a, fam + "_rate") if getattr(self.a, fam) else 0.0

    # ---------------------------------------------------------------- phones
    def new_mobile(self):
        while True:
            code = self.rng.choices(MOBILE_CODES, MOBILE_W)[0]
            nat = code + "%07d" % self.rng.randrange(10 ** 7)
            if nat.startswith("9300"):  # not allocated to subscribers; never seen in real lists
                continue
            if nat not in self.used_phones:
                self.used_phones.add(nat)
                return Phone(nat, 3, True)

    def new_landline(self, city, code=None):
        codes = CITY_INFO[city][2]
        code = code or self.rng.choice(codes)
        n_local = 10 - len(code)
        while True:
            local = str(self.rng.randint(2, 7)) + "".join(
                str(self.rng.randrange(10)) for _ in range(n_local - 1))
            nat = code + local
            if nat not in self.used_phones:
                self.used_phones.add(nat)
                return Phone(nat, len(code), False)

    def new_800(self):
        while True:
            nat = "800" + str(self.rng.randint(1, 7)) + "%06d" % self.rng.randrange(10 ** 6)
            if nat not in self.used_phones:
                self.used_phones.add(nat)
                return Phone(nat, 3, False)

    def fmt_phone(self, ph, ext=None):
        r = self.rng
        code, local = ph.nat[:ph.code_len], ph.nat[ph.code_len:]
        if len(local) == 7:
            grouped = [local[:3], local[3:5], local[5:]]
        elif len(local) == 6:
            grouped = [local[:2], local[2:4], local[4:]]
        else:
            grouped = [local[:1], local[1:3], local[3:]]
        dashed = "-".join(grouped)
        spaced = " ".join(grouped)
        forms = [
            (f"8 ({code}) {dashed}", 14), (f"+7 ({code}) {dashed}", 14), (f"+7 {code} {dashed}", 8),
            (f"+7-{code}-{dashed}", 4), (f"+7-{code}-{local}", 4), (f"+7{ph.nat}", 10),
            (f"7{ph.nat}", 6), (f"8{ph.nat}", 10), (f"8-{code}-{dashed}", 5),
            (f"8 {code} {spaced}", 4), (f"8({code}){local}", 3), (f"+7 {code} {local}", 3),
            (f"8 {code} {local}", 3), (f"+7 ({code}) {spaced}", 3), (f"8 ({code}) {local}", 3),
        ]
        if ph.mobile:
            forms += [(ph.nat, 6), (f"({code}) {dashed}", 2), (f"{code}-{dashed}", 2),
                      (f"{code} {local}", 1)]
        s = r.choices([f for f, _ in forms], [w for _, w in forms])[0]
        if ext:
            s += r.choice([f" доб. {ext}", f" доб.{ext}", f", доб. {ext}", f" (доб. {ext})",
                           f" ext. {ext}", f" вн. {ext}", f" доб {ext}"])
        return s

    # ---------------------------------------------------------------- e-mails
    def unique_email(self, local, domain):
        base = local
        n = 0
        while f"{local}@{domain}" in self.used_emails:
            n += 1
            local = base + str(self.rng.choice([n, self.rng.randint(1, 99), self.rng.randint(1970, 2005)]))
        self.used_emails.add(f"{local}@{domain}")
        return f"{local}@{domain}"

    def personal_email(self, p):
        r = self.rng
        last, first = email_translit(p.last), email_translit(p.first)
        yy = str(p.birth)[2:]
        sep = r.choice([".", "_", "", "-"])
        templates = [
            (f"{last}{yy}", 6), (f"{first}{sep}{last}", 8), (f"{first[0]}{sep}{last}", 8),
            (f"{last}{sep}{first[0]}", 4), (f"{last}", 4), (f"{first}{p.birth}", 4),
            (f"{first}{sep}{last}{yy}", 4), (f"{last}{first[0]}{r.randint(1, 99)}", 3),
            (r.choice(["sunny", "kotik", "zaya", "lisa", "volk", "tigr", "angel", "star", "moon",
                       "super", "best", "dark", "lucky", "happy", "max"]) + str(r.randint(1, 9999)), 4),
            (f"{first}{r.randint(1, 999)}", 3),
        ]
        local = r.choices([t for t, _ in templates], [w for _, w in templates])[0]
        local = local.strip(".-_") or last
        return self.unique_email(local, self.pick(FREE_DOMAINS))

    def corp_email(self, p, domain):
        last, first = email_translit(p.last), email_translit(p.first)
        local = self.rng.choice([f"{first[0]}.{last}", f"{last}", f"{first}.{last}", f"{first}",
                                 f"{last}.{first[0]}", f"{last}{first[0]}"])
        return self.unique_email(local, domain)

    # ---------------------------------------------------------------- people
    def random_name(self, female=None, surname=None):
        if female is None:
            female = self.chance(0.52)
        s = surname or self.pick(SURNAMES)
        first = self.pick(FEMALE if female else MALE)
        middle = patronymic(self.pick(MALE), female)
        return female, (fem_surname(s) if female else s), first, middle

    def make_person(self, kind, city=None, female=None, name=None, birth=None, mobile=True,
                    email=True):
        if name is None:
            female, last, first, middle = self.random_name(female)
        else:
            female, last, first, middle = name
        p = Person(id=self.new_id(), female=female, last=last, first=first, middle=middle,
                   city=city or self.pick(CITY_W),
                   birth=birth or self.rng.randint(1955, 2004), kind=kind, sloppy=False,
                   patr_keep=1.0)
        p.mobile = self.new_mobile() if mobile else None
        p.email = self.personal_email(p) if email else None
        self.persons.append(p)
        return p

    # ---------------------------------------------------------------- build entities
    def build(self):
        a, r = self.a, self.rng
        n_people = a.people
        # companies and their contact persons
        if self.on("company"):
            n_co = max(1, round(n_people * a.companies_per_person))
            self.make_companies(n_co)
            for co in list(self.companies):
                if len(self.persons) >= n_people:
                    break
                if co.lf == "ИП":
                    continue
                if self.on("employees") and self.chance(a.employees_rate):
                    k = r.choice([2, 2, 2, 3, 3, 4, 5])
                    self.groups["employee_groups"] += 1
                    self.groups["employees_in_groups"] += k
                else:
                    k = 1 if self.chance(0.5) else 0
                for j in range(k):
                    p = self.make_person("contact", city=co.city,
                                         mobile=self.chance(0.7), email=self.chance(0.3))
                    p.company = co
                    p.group = "employee" if k > 1 else "contact"
                    if self.chance(0.5):
                        p.ext = str(r.randint(100, 499))
                    if co.domain and self.chance(0.85):
                        p.corp_email = self.corp_email(p, co.domain)
                    if p.mobile is None and p.corp_email is None and p.email is None:
                        p.mobile = self.new_mobile()
        # relatives sharing a home landline and a surname
        if self.on("family"):
            target = len(self.persons) + round(n_people * a.family_rate)
            while len(self.persons) < min(target, n_people):
                self.make_family()
        # namesakes
        if self.on("namesakes"):
            target = len(self.persons) + round(n_people * a.namesakes_rate)
            while len(self.persons) < min(target, n_people):
                self.make_namesakes()
        while len(self.persons) < n_people:
            self.make_person("private")

    def make_family(self):
        r = self.rng
        city = self.pick(CITY_W)
        surname = self.pick(SURNAMES)
        home = self.new_landline(city)
        scenario = self.pick([("father_son", 40), ("spouses", 30), ("siblings", 20), ("full", 10)])
        self.groups["family_" + scenario] += 1
        members = []
        father_first = self.pick(MALE)
        father_middle = patronymic(self.pick(MALE), False)
        fb = r.randint(1950, 1978)
        if scenario in ("father_son", "spouses", "full"):
            members.append(self.make_person("family", city, False, (False, surname, father_first, father_middle),
                                            fb, mobile=self.chance(0.8), email=self.chance(0.6)))
        if scenario in ("spouses", "full"):
            wf = self.pick(FEMALE)
            members.append(self.make_person("family", city, True, (True, fem_surname(surname), wf,
                                                                    patronymic(self.pick(MALE), True)),
                                            fb + r.randint(-4, 6), mobile=self.chance(0.85), email=self.chance(0.6)))
        if scenario in ("father_son", "full"):
            same = self.chance(0.6)
            son_first = father_first if same else self.pick_other(MALE, {father_first})
            if same:
                self.groups["father_son_same_first_name"] += 1
            members.append(self.make_person("family", city, False,
                                            (False, surname, son_first, patronymic(father_first, False)),
                                            min(fb + r.randint(20, 32), 2006)))
            if scenario == "full" and self.chance(0.5):
                members.append(self.make_person("family", city, True,
                                                (True, fem_surname(surname), self.pick_other(FEMALE, {members[1].first}),
                                                 patronymic(father_first, True)),
                                                min(fb + r.randint(20, 34), 2006)))
        if scenario == "siblings":
            dad = self.pick(MALE)
            sb = r.randint(1960, 1995)
            taken = set()
            for _ in range(r.choice([2, 2, 3])):
                fem = self.chance(0.5)
                first = self.pick_other(FEMALE if fem else MALE, taken)
                taken.add(first)
                members.append(self.make_person("family", city, fem,
                                                (fem, fem_surname(surname) if fem else surname,
                                                 first, patronymic(dad, fem)),
                                                sb + r.randint(-6, 6)))
        fam_email = None
        if self.chance(0.2) and len(members) >= 2:
            fam_email = self.unique_email(
                email_translit(surname) + r.choice(["y", "_family", ".semya", "family", "y" + str(r.randint(1, 99))]),
                self.pick(FREE_DOMAINS))
            self.groups["family_shared_email"] += 1
        for m in members:
            m.group = "family:" + scenario
            m.landline = home
            if self.chance(0.4):
                m.sloppy = True
            if fam_email and self.chance(0.7):
                m.family_email = fam_email
        self.groups["family_members"] += len(members)

    def make_namesakes(self):
        r = self.rng
        female = self.chance(0.45)
        surname = r.choice([s for s, _ in SURNAMES[:15]])
        first = r.choice([n for n, _ in (FEMALE if female else MALE)[:12]])
        dad = r.choice([n for n, _ in MALE[:12]])
        k = self.pick([(2, 60), (3, 30), (4, 10)])
        mode = "full" if self.chance(0.7) else "no_patronymic"
        self.groups["namesake_groups_" + mode] += 1
        self.groups["namesake_persons"] += k
        base_city = self.pick(CITY_W)
        for _ in range(k):
            mid = patronymic(dad if mode == "full" else self.pick(MALE), female)
            p = self.make_person("namesake", base_city if self.chance(0.5) else self.pick(CITY_W),
                                 female, (female, fem_surname(surname) if female else surname, first, mid))
            p.group = "namesake:" + mode
            if mode == "no_patronymic":
                p.patr_keep = 0.25

    def company_name(self):
        r = self.rng
        while True:
            x = r.random()
            if x < 0.35:
                n = r.choice(CO_WORDS)
            elif x < 0.65:  # СтройИнвест, Стройинвест
                a, b = r.choice(CO_ROOT1), r.choice(CO_ROOT2)
                if a == b:
                    continue
                n = a + (b if r.random() < 0.5 else b.lower())
            elif x < 0.82:
                a, b = r.choice(CO_ROOT1), r.choice(CO_ROOT2)
                if a == b:
                    continue
                n = a + "-" + b
            elif x < 0.88:
                n = r.choice(["ТД ", "ПКФ ", "НПО ", "СК ", "ТК ", "ГК "]) + r.choice(CO_WORDS)
            elif x < 0.94:
                s = self.pick(SURNAMES)
                n = fem_surname(s) if r.random() < 0.5 else s  # ПАО «Кулакова»
            else:
                n = self.pick(SURNAMES) + " и партнёры"
            if n not in self.used_co_names:
                self.used_co_names.add(n)
                return n

    def make_company(self, city=None, name=None, lf=None):
        r = self.rng
        lf = lf or self.pick(LEGAL)
        city = city or self.pick(CITY_W)
        region = CITY_INFO[city][3]
        while True:
            inn = inn12(r, region) if lf == "ИП" else inn10(r, region)
            if inn not in self.used_inn:
                self.used_inn.add(inn)
                break
        if lf == "ИП":
            _, last, first, middle = self.random_name()
            name = name or f"{last} {first} {middle}"
        else:
            name = name or self.company_name()
        co = Company(id=self.new_id(), name=name, lf=lf, city=city, inn=inn)
        if lf == "ИП":
            co.phone = self.new_mobile() if self.chance(0.7) else self.new_landline(city)
            co.domain = None
            co.email = self.unique_email(email_translit(name.split()[0]) + r.choice(["", ".ip", "_ip", str(r.randint(1, 99))]),
                                         self.pick(FREE_DOMAINS)) if self.chance(0.6) else None
        else:
            co.phone = self.new_landline(city)
            co.ext = None
            base = "".join(ch for ch in email_translit(name.split()[-1] if name.startswith(("ТД", "ПКФ", "НПО", "СК", "ТК", "ГК")) else name) if ch.isalnum())
            if self.chance(0.03):
                dom = name.split()[-1].lower().replace("ё", "е") + ".рф"
                dom = "".join(ch for ch in dom if ch.isalnum() or ch in ".-")
            else:
                dom = base + r.choice([".ru", ".ru", ".ru", ".com", "-group.ru", "-" + CITY_INFO[city][3] + ".ru", ".su", ".net"])
            while dom in self.used_co_names:
                dom = base + str(r.randint(1, 99)) + ".ru"
            self.used_co_names.add(dom)
            co.domain = dom
            co.email = self.unique_email(r.choice(["info", "info", "office", "sales", "zakaz", "mail", "secretary"]), dom) \
                if self.chance(0.75) else None
            if self.chance(0.06):
                co.phone800 = self.new_800()
        self.companies.append(co)
        return co

    def make_companies(self, n):
        a, r = self.a, self.rng
        while len(self.companies) < n:
            co = self.make_company()
            if co.lf != "ИП" and self.on("company") and self.chance(a.company_rate / 3):
                # a different company with a similar name (and a different ИНН)
                if self.chance(0.3):
                    nm = co.name
                    city = self.pick(CITY_W)
                    while city == co.city:
                        city = self.pick(CITY_W)
                else:
                    nm = co.name + r.choice(SIMILAR_SUFFIX)
                    city = co.city if self.chance(0.6) else self.pick(CITY_W)
                    if nm in self.used_co_names:
                        continue
                    self.used_co_names.add(nm)
                twin = self.make_company(city, nm, self.pick(LEGAL[:4]))
                twin.tags.append("similar_name")
                co.tags.append("similar_name")
                self.groups["similar_name_pairs"] += 1
        # shared switchboards in business centres
        if self.on("company"):
            pool = [c for c in self.companies if c.lf != "ИП" and not c.tags]
            by_city = {}
            for c in pool:
                by_city.setdefault(c.city, []).append(c)
            want = round(len(self.companies) * a.company_rate / 2)
            done = 0
            cities = [c[0] for c in CITIES if len(by_city.get(c[0], [])) >= 2]
            while done < want and cities:
                city = r.choice(cities)
                lst = by_city[city]
                if len(lst) < 2:
                    cities.remove(city)
                    continue
                k = min(len(lst), r.choice([2, 2, 3, 3, 4]))
                board = self.new_landline(city)
                for _ in range(k):
                    c = lst.pop(r.randrange(len(lst)))
                    c.phone = board
                    c.ext = str(r.randint(10, 99) if self.chance(0.5) else r.randint(100, 999))
                    c.tags.append("switchboard")
                done += k
                self.groups["switchboard_groups"] += 1
                self.groups["switchboard_companies"] += k

    # ---------------------------------------------------------------- appearances
    def n_appear(self):
        return self.pick(APPEAR_W)

    def plan(self):
        """(entity, source) per row; the first row of an entity is its clean one."""
        rows = []
        for p in self.persons:
            k = self.n_appear()
            w = SRC_CONTACT if p.company else (SRC_PRIVATE_CO if self.on("company") else SRC_PRIVATE_NOCO)
            srcs = [self.pick(w) for _ in range(k)]
            rows.extend((p, s, i > 0) for i, s in enumerate(srcs))
        for c in self.companies:
            k = self.n_appear()
            srcs = [self.pick(SRC_COMPANY) for _ in range(k)]
            rows.extend((c, s, i > 0) for i, s in enumerate(srcs))
        return rows

    # ---------------------------------------------------------------- names
    def person_name(self, p, src, dup):
        """Name cells for a person's row: {'full': str} or {'last','first','middle'}."""
        r, st = self.rng, self.stats
        L, F, M = p.last, p.first, p.middle
        if r.random() > p.patr_keep:
            M = ""
        if p.sloppy and r.random() < 0.5:
            M = ""
        if src == "vendor" and r.random() < 0.12:
            M = ""
        # source habits for a free-text name
        if src == "form":
            fmt = self.pick(FORM_FMT_SLOPPY if p.sloppy else FORM_FMT)
        elif src == "directory":
            fmt = self.pick(DIR_FMT_SLOPPY if p.sloppy else DIR_FMT)
        else:
            fmt = "LFM"
        compact = False
        if fmt in ("F", "FM", "L_IO"):
            self.tag("habit:" + fmt)  # the source's own way: first name only, no surname, initials
        if fmt == "L_IO":
            F, M = F[0] + ".", (M[0] + "." if M else "")
            compact = r.random() < 0.7
            fmt = "LFM"
        case_op = None
        order_op = None
        script = None
        if dup:
            if self.on("diminutive") and F in DIMINUTIVES and r.random() < self.a.diminutive_rate:
                F = r.choice(DIMINUTIVES[F])
                st["diminutive_rows"] += 1
                self.tag("diminutive")
            if self.on("initials") and r.random() < self.a.initials_rate and not F.endswith("."):
                mode = self.pick([("FM", 40), ("M", 15), ("drop", 35), ("F_drop", 10)])
                if mode == "FM":
                    F, M = F[0] + ".", (M[0] + "." if M else "")
                    compact = r.random() < 0.5
                elif mode == "M" and M:
                    M = M[0] + "."
                elif mode == "drop":
                    M = ""
                else:
                    F, M = F[0] + ".", ""
                if fmt in ("F", "FM"):
                    fmt = "LFM"
                st["initials_rows"] += 1
                st["initials_" + mode] += 1
                self.tag("initials:" + mode)
            if self.on("typo"):
                parts = [L, F, M]
                hit = False
                for i, w in enumerate(parts):
                    if w and not w.endswith(".") and r.random() < self.a.typo_rate:
                        parts[i], op = typo(w, r)
                        if op:
                            st["typo_parts"] += 1
                            st["typo_" + op] += 1
                            hit = True
                L, F, M = parts
                if hit:
                    st["typo_rows"] += 1
                    self.tag("typo")
            if self.on("translit") and r.random() < self.a.translit_rate:
                script = self.a.translit_system
                if script == "mixed":
                    script = r.choice(["gost", "icao", "loose"])
                if script == "gost":
                    script = "gost" if r.random() < 0.3 else "gost-simple"
                st["translit_rows"] += 1
                st["translit_" + script] += 1
                self.tag("translit:" + script)
            elif self.on("layout") and r.random() < self.a.layout_rate:
                script = "layout"
                st["layout_rows"] += 1
                self.tag("layout")
            if self.on("order_case") and r.random() < self.a.order_case_rate:
                st["order_case_rows"] += 1
                has_yo = "ё" in (L + F + M).lower()
                ops = []
                if has_yo and r.random() < 0.5:
                    ops.append("yo")
                if r.random() < 0.55:
                    ops.append("case")
                if r.random() < 0.5 or not ops:
                    ops.append("order")
                for op in ops:
                    st["order_case_" + op] += 1
                self.tag("order_case:" + "+".join(ops))
                if "yo" in ops:
                    L, F, M = (x.replace("ё", "е").replace("Ё", "Е") for x in (L, F, M))
                if "case" in ops:
                    case_op = self.pick([("upper", 45), ("lower", 45), ("title_last_upper", 10)])
                if "order" in ops:
                    order_op = True
        # script
        if script == "layout":
            which = r.random()
            if which < 0.7:
                L, F, M = layout(L), layout(F), layout(M)
            elif which < 0.85:
                L = layout(L)
            else:
                F = layout(F)
        elif script:
            first_orig = F
            L = translit(L, script, r)
            F = translit(F, script, r, first_name=first_orig)
            M = translit(M, script, r) if M else M
        # case
        if case_op == "upper":
            L, F, M = L.upper(), F.upper(), M.upper()
        elif case_op == "lower":
            L, F, M = L.lower(), F.lower(), M.lower()
        elif case_op == "title_last_upper":
            L = L.upper()
        if src == "vendor":
            if order_op:
                if r.random() < 0.5:
                    return {"last": F, "first": L, "middle": M}
                full = " ".join(x for x in self.order_tokens("LFM", L, F, M, compact) if x)
                return {"last": full, "first": "", "middle": ""}
            return {"last": L, "first": F, "middle": M}
        if order_op:
            choices = [f for f in ("LFM", "FL", "FML", "LF", "FM", "MFL") if f != fmt]
            fmt = r.choice(choices)
        return {"full": " ".join(x for x in self.order_tokens(fmt, L, F, M, compact) if x)}

    @staticmethod
    def order_tokens(fmt, L, F, M, compact):
        if compact and F.endswith(".") and M.endswith(".") and len(F) <= 3 and len(M) <= 3:
            FM = F + M
            if fmt.startswith("L"):
                return [L, FM]
            return [FM, L] if "L" in fmt else [FM]
        m = {"L": L, "F": F, "M": M}
        return [m[c] for c in fmt]

    def company_label(self, co, dup):
        """The company's name as a row writes it."""
        r, st = self.rng, self.stats
        n, lf = co.name, co.lf
        if lf == "ИП":
            parts = n.split()
            if dup and self.on("company") and r.random() < self.a.company_rate:
                st["company_variant_rows"] += 1
                self.tag("company_variant")
                return self.pick([
                    (f"ИП {parts[0]} {parts[1][0]}.{parts[2][0]}.", 30), (f"Индивидуальный предприниматель {n}", 20),
                    (f"{n} ИП", 15), (f"ИП {parts[0]} {parts[1][0]}. {parts[2][0]}.", 15),
                    (f"IP {translit(parts[0], 'loose', r)} {translit(parts[1], 'loose', r)}", 10),
                    (f"ИП {n.upper()}", 10)])
            return f"ИП {n}"
        if dup and self.on("company") and r.random() < self.a.company_rate:
            st["company_variant_rows"] += 1
            self.tag("company_variant")
            lat = " ".join(translit(w, "loose", r) for w in n.replace("-", " - ").split()).replace(" - ", "-")
            v = self.pick([
                (f"{n} {lf}", 12), (f"{n}, {lf}", 6), (f"{lf} {n}", 12),
                (f'{LEGAL_LONG[lf]} "{n}"', 10), (f"{LEGAL_LONG[lf]} «{n}»", 6),
                (f'{LEGAL_LATIN[lf]} "{lat}"', 8), (f"{lf} «{n.upper()}»", 8), (n, 12), (f'"{n}"', 4),
                (f'{lf} "{n}"', 8), (f"{lf} «{n}»", 6), (f"{LEGAL_LATIN[lf]} «{n}»", 5),
                (f'{lf.lower()} "{n.lower()}"', 3)])
            return v
        return f"{lf} «{n}»" if r.random() < 0.5 else f'{lf} "{n}"'

    # ---------------------------------------------------------------- contacts
    def typo_domain(self, email):
        local, dom = email.rsplit("@", 1)
        if dom in DOMAIN_TYPOS:
            return f"{local}@{self.rng.choice(DOMAIN_TYPOS[dom])}"
        # corporate: drop or double a letter of the domain name
        name, _, tld = dom.partition(".")
        if len(name) > 3:
            i = self.rng.randrange(1, len(name) - 1)
            name = name[:i] + name[i + 1:] if self.rng.random() < 0.5 else name[:i] + name[i] + name[i:]
        return f"{local}@{name}.{tld}"

    def contacts(self, e, src, dup, is_company):
        """(phone text, email text) for a row; at least one is non-empty."""
        r, st = self.rng, self.stats
        want = self.pick(CONTACT_MIX[src])
        ext = None
        # phone
        if is_company:
            ph = e.phone
            if e.phone800 and r.random() < 0.3:
                ph = e.phone800
            elif e.ext and r.random() < 0.5:
                ext = e.ext
            em = e.email
        else:
            opts = []
            if e.mobile:
                opts.append((e.mobile, 6))
            if e.landline:
                opts.append((e.landline, 3 if e.mobile else 6))
            if e.company:
                opts.append((e.company.phone, 5 if e.mobile else 8))
            ph = r.choices([o for o, _ in opts], [w for _, w in opts])[0] if opts else None
            if e.company and ph is e.company.phone and e.ext and r.random() < 0.6:
                ext = e.ext
            ems = []
            if e.email:
                ems.append((e.email, 5))
            if e.corp_email:
                ems.append((e.corp_email, 6))
            if e.family_email:
                ems.append((e.family_email, 4))
            em = r.choices([o for o, _ in ems], [w for _, w in ems])[0] if ems else None
        if dup and (e.alt_phones or e.alt_emails):
            if e.alt_phones and r.random() < 0.5:
                ph = r.choice(e.alt_phones)
                ext = None
            if e.alt_emails and r.random() < 0.5:
                em = r.choice(e.alt_emails)
        has_ph, has_em = want in ("both", "phone"), want in ("both", "email")
        if ph is None:
            has_ph, has_em = False, True
        if em is None:
            has_em = False
            has_ph = ph is not None
        typo_em = False
        if dup and self.on("contact") and r.random() < self.a.contact_rate:
            op = self.pick(CONTACT_OPS)
            if op == "phone_missing" and has_ph and em:
                has_ph, has_em = False, True
            elif op == "phone_new":
                ph = self.new_mobile() if (is_company is False or r.random() < 0.3) else self.new_landline(e.city)
                e.alt_phones.append(ph)
                has_ph, ext = True, None
            elif op == "email_missing" and has_em and ph is not None:
                has_em, has_ph = False, True
            elif op == "email_new":
                em = self.personal_email(e) if not is_company else self.unique_email(
                    r.choice(["sales", "zakaz", "manager", "office", "buh", "director"]), e.domain or "mail.ru")
                e.alt_emails.append(em)
                has_em = True
            elif op == "email_typo" and em:
                typo_em = True
                has_em = True
                if ph is not None:
                    has_ph = True
            else:
                op = None
            if op:
                st["contact_rows"] += 1
                st["contact_" + op] += 1
                self.tag("contact:" + op)
        if not has_ph and not has_em:
            has_ph = ph is not None
            has_em = not has_ph
        phone_txt = ""
        if has_ph:
            phone_txt = self.fmt_phone(ph, ext)
            # a second number in the same cell, as vendors and directories write it
            if not is_company and src != "form" and e.mobile and e.landline and r.random() < 0.08:
                other = e.landline if ph is e.mobile else e.mobile
                phone_txt += r.choice([", ", "; ", " / "]) + self.fmt_phone(other)
        email_txt = ""
        if has_em:
            email_txt = self.typo_domain(em) if typo_em else em
            x = r.random()
            if x < 0.05:
                email_txt = email_txt.upper()
            elif x < 0.10:
                email_txt = email_txt[0].upper() + email_txt[1:]
            elif x < 0.13:
                email_txt = " " + email_txt + " "
        return phone_txt, email_txt

    def city_text(self, city, src, latin=False):
        r = self.rng
        if r.random() < {"form": 0.35, "vendor": 0.12, "directory": 0.05}[src]:
            return ""
        if latin and city in CITY_LATIN and r.random() < 0.6:
            return r.choice(CITY_LATIN[city])
        opts = [(city, 60), ("г. " + city, 20), ("г " + city, 4), (city.lower(), 4), (city.upper(), 4)]
        for x in CITY_EXTRA.get(city, []):
            opts.append((x, 2))
        return r.choices([o for o, _ in opts], [w for _, w in opts])[0]

    # ---------------------------------------------------------------- rows
    def make_rows(self):
        r = self.rng
        out = {"form": [], "vendor": [], "directory": []}
        t0 = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=3)))
        for e, src, dup in self.plan():
            is_co = isinstance(e, Company)
            self.cur_tags = []
            row = {"entity_id": e.id, "full_name": "", "last_name": "", "first_name": "",
                   "middle_name": "", "company": "", "inn": ""}
            if is_co:
                label = self.company_label(e, dup)
                if src == "form":
                    row["full_name"] = label
                    self.stats["company_name_in_form_rows"] += 1
                    self.tag("company_in_form_name")
                else:
                    row["company"] = label
                    if r.random() < (0.8 if src == "vendor" else 0.7):
                        row["inn"] = e.inn
            else:
                nm = self.person_name(e, src, dup)
                if "full" in nm:
                    row["full_name"] = nm["full"]
                else:
                    row["last_name"], row["first_name"], row["middle_name"] = nm["last"], nm["first"], nm["middle"]
                if e.company and src != "form":
                    row["company"] = self.company_label(e.company, dup or r.random() < 0.3)
                    if r.random() < 0.45:
                        row["inn"] = e.company.inn
            row["phone"], row["email"] = self.contacts(e, src, dup, is_co)
            latin = any("a" <= ch.lower() <= "z" for ch in row["full_name"] + row["last_name"])
            row["city"] = self.city_text(e.city, src, latin)
            if src == "form":
                ts = t0 + timedelta(seconds=r.randrange(2 * 365 * 86400))
                row["created_at"] = self.fmt_ts(ts)
                row["consent"] = self.pick(CONSENT_VALUES)
            row["_kind"] = ("company:" + e.lf + "".join(":" + t for t in e.tags)) if is_co else (e.group or e.kind)
            row["_first"] = 0 if dup else 1
            row["_tags"] = " ".join(self.cur_tags)
            out[src].append(row)
        for src in out:
            r.shuffle(out[src])
        return out

    def fmt_ts(self, ts):
        x = self.rng.random()
        if x < 0.4:
            return ts.strftime("%Y-%m-%d %H:%M:%S")
        if x < 0.65:
            return ts.strftime("%d.%m.%Y %H:%M")
        if x < 0.9:
            return ts.isoformat()
        return ts.strftime("%d.%m.%Y")


CITY_W = [(c[0], c[1]) for c in CITIES]
APPEAR_W = [(1, 52), (2, 24), (3, 12), (4, 7), (5, 5)]
SRC_PRIVATE_CO = [("form", 55), ("vendor", 40), ("directory", 5)]
SRC_PRIVATE_NOCO = [("form", 50), ("vendor", 35), ("directory", 15)]
SRC_CONTACT = [("form", 15), ("vendor", 40), ("directory", 45)]
SRC_COMPANY = [("form", 6), ("vendor", 44), ("directory", 50)]
FORM_FMT = [("LFM", 35), ("LF", 20), ("FL", 20), ("F", 12), ("FM", 5), ("FML", 8)]
FORM_FMT_SLOPPY = [("F", 35), ("FL", 30), ("LF", 25), ("LFM", 10)]
DIR_FMT = [("LFM", 55), ("FM", 20), ("LF", 15), ("L_IO", 10)]
DIR_FMT_SLOPPY = [("FM", 20), ("LF", 35), ("FL", 15), ("F", 15), ("LFM", 15)]
CONTACT_MIX = {"form": [("both", 55), ("phone", 30), ("email", 15)],
               "vendor": [("both", 45), ("phone", 50), ("email", 5)],
               "directory": [("both", 55), ("phone", 40), ("email", 5)]}
CONTACT_OPS = [("phone_missing", 20), ("phone_new", 25), ("email_missing", 20), ("email_new", 20),
               ("email_typo", 15)]
CONSENT_VALUES = [(True, 50), ("да", 15), ("1", 10), (False, 10), ("нет", 5), ("on", 5), ("", 5)]

FAMILIES = ["typo", "translit", "layout", "diminutive", "initials", "order_case", "contact",
            "family", "namesakes", "company", "employees"]
DEFAULT_RATES = {"typo": 0.05, "translit": 0.05, "layout": 0.02, "diminutive": 0.08,
                 "initials": 0.10, "order_case": 0.25, "contact": 0.25, "family": 0.08,
                 "namesakes": 0.04, "company": 0.30, "employees": 0.30}
RATE_HELP = {
    "typo": "per name part of a repeat row",
    "translit": "share of repeat rows written in Latin",
    "layout": "share of repeat rows typed in the wrong keyboard layout",
    "diminutive": "share of repeat rows with an everyday first name",
    "initials": "share of repeat rows with initials or no patronymic",
    "order_case": "share of repeat rows with other word order, case, ё→е",
    "contact": "share of repeat rows with a contact change",
    "family": "share of people in families (shared home landline and surname)",
    "namesakes": "share of people in namesake groups",
    "company": "share of company repeat rows with another spelling; /2 of companies share a switchboard, /3 have a similar-named twin",
    "employees": "share of companies with 2-5 contact persons on the office line",
}

PIPELINE = """# Held-out evaluation base written by tools/eval/heldout_gen.py (seed {seed}).
name = "heldout-eval"
db = "eval.duckdb"

[normalise]
default_region = "RU"
naive_time_offset = "+03:00"

[[sources]]
name = "form"
kind = "jsonl"
path = "form.jsonl"
origin = "form"

[[sources]]
name = "vendor"
kind = "csv"
path = "vendor.csv"
origin = "purchased"
encoding = "windows-1251"
delimiter = ";"

[[sources]]
name = "directory"
kind = "csv"
path = "directory.csv"
origin = "open"
encoding = "utf-8"
delimiter = ","

[sources.columns]
"Название" = "company"
"""

VENDOR_COLS = ["Фамилия", "Имя", "Отчество", "Телефон", "E-mail", "Город", "Компания", "ИНН", "entity_id"]
DIR_COLS = ["Название", "Контактное лицо", "Телефон", "Email", "Город", "ИНН", "entity_id"]
ALL_COLS = ["source", "source_row", "entity_id", "full_name", "last_name", "first_name", "middle_name",
            "phone", "email", "city", "company", "inn"]


def write(out_dir, rows, gen, args, elapsed):
    os.makedirs(out_dir, exist_ok=True)
    all_rows = []
    # form.jsonl
    with open(os.path.join(out_dir, "form.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for i, r in enumerate(rows["form"], 1):
            phone = r["phone"]
            if phone.isdigit() and len(phone) == 11 and gen.rng.random() < 0.15:
                phone = int(phone)  # a number column exported as a JSON number
            obj = {"name": r["full_name"], "phone": phone, "email": r["email"], "city": r["city"],
                   "consent": r["consent"], "created_at": r["created_at"], "entity_id": r["entity_id"]}
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            all_rows.append(["form", i, r["entity_id"], r["full_name"], "", "", "", str(phone),
                             r["email"], r["city"], "", ""])
    # vendor.csv, CP1251 ;
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(VENDOR_COLS)
    for i, r in enumerate(rows["vendor"], 1):
        w.writerow([r["last_name"], r["first_name"], r["middle_name"], r["phone"], r["email"],
                    r["city"], r["company"], r["inn"], r["entity_id"]])
        all_rows.append(["vendor", i, r["entity_id"], "", r["last_name"], r["first_name"],
                         r["middle_name"], r["phone"], r["email"], r["city"], r["company"], r["inn"]])
    with open(os.path.join(out_dir, "vendor.csv"), "wb") as f:
        f.write(buf.getvalue().encode("cp1251"))
    # directory.csv, UTF-8 ,
    with open(os.path.join(out_dir, "directory.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=",", lineterminator="\n")
        w.writerow(DIR_COLS)
        for i, r in enumerate(rows["directory"], 1):
            w.writerow([r["company"], r["full_name"], r["phone"], r["email"], r["city"], r["inn"],
                        r["entity_id"]])
            all_rows.append(["directory", i, r["entity_id"], r["full_name"], "", "", "", r["phone"],
                             r["email"], r["city"], r["company"], r["inn"]])
    with open(os.path.join(out_dir, "row_tags.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "source_row", "entity_id", "entity_kind", "first_row", "tags"])
        for src in ("form", "vendor", "directory"):
            for i, r in enumerate(rows[src], 1):
                w.writerow([src, i, r["entity_id"], r["_kind"], r["_first"], r["_tags"]])
    with open(os.path.join(out_dir, "all_rows.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(ALL_COLS)
        w.writerows(all_rows)
    with open(os.path.join(out_dir, "pipeline.toml"), "w", encoding="utf-8") as f:
        f.write(PIPELINE.format(seed=args.seed))
    # truth summary
    per_entity = Counter(row[2] for row in all_rows)
    sizes = Counter(per_entity.values())
    true_pairs = sum(n * (n - 1) // 2 for n in per_entity.values())
    summary = {
        "seed": args.seed,
        "people": len(gen.persons),
        "companies": len(gen.companies),
        "entities": len(gen.persons) + len(gen.companies),
        "persons_by_kind": dict(sorted(Counter(p.kind for p in gen.persons).items())),
        "companies_by_legal_form": dict(sorted(Counter(c.lf for c in gen.companies).items())),
        "rows": len(all_rows),
        "rows_by_source": {s: len(rows[s]) for s in ("form", "vendor", "directory")},
        "rows_per_entity": {str(k): v for k, v in sorted(sizes.items())},
        "true_pairs": true_pairs,
        "families": {
            fam: {"on": bool(getattr(args, fam)), "rate": getattr(args, fam + "_rate"),
                  **({"system": args.translit_system} if fam == "translit" else {})}
            for fam in FAMILIES},
        "applied": dict(sorted(gen.stats.items())),
        "hard_negative_groups": dict(sorted(gen.groups.items())),
        "companies_per_person": args.companies_per_person,
    }
    with open(os.path.join(out_dir, "truth_summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return summary


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--people", type=int, default=20000, help="number of real people")
    ap.add_argument("--companies-per-person", type=float, default=0.08)
    ap.add_argument("--all-off", action="store_true",
                    help="families not switched on explicitly are off (a clean base)")
    for fam in FAMILIES:
        flag = fam.replace("_", "-")
        if fam == "translit":
            ap.add_argument("--translit", choices=["gost", "icao", "loose", "mixed", "off"], default=None,
                            help="transliteration system (default mixed); off disables")
            ap.add_argument("--no-translit", dest="translit", action="store_const", const="off")
        else:
            ap.add_argument(f"--{flag}", dest=fam, action=argparse.BooleanOptionalAction, default=None,
                            help=f"switch the {fam} family on/off")
        ap.add_argument(f"--{flag}-rate", dest=fam + "_rate", type=float, default=DEFAULT_RATES[fam],
                        help=f"{RATE_HELP[fam]} (default {DEFAULT_RATES[fam]})")
    args = ap.parse_args(argv)
    for fam in FAMILIES:
        v = getattr(args, fam)
        if fam == "translit":
            if v is None:
                v = "off" if args.all_off else "mixed"
            args.translit_system = v if v != "off" else "mixed"
            args.translit = v != "off"
            continue
        if v is None:
            v = not args.all_off
        setattr(args, fam, v)
    return args


def main(argv=None):
    args = parse_args(argv)
    t = time.time()
    gen = Gen(args)
    gen.build()
    rows = gen.make_rows()
    summary = write(args.out, rows, gen, args, time.time() - t)
    print(f"{args.out}: {summary['entities']} entities ({summary['people']} people, "
          f"{summary['companies']} companies), {summary['rows']} rows "
          f"(form {summary['rows_by_source']['form']}, vendor {summary['rows_by_source']['vendor']}, "
          f"directory {summary['rows_by_source']['directory']}), {summary['true_pairs']} true pairs, "
          f"{time.time() - t:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
