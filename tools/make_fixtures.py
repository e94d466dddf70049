#!/usr/bin/env python3
"""Writes fixtures/: small, real-looking lead files with deliberate faults.

Dev-only (needs openpyxl for the XLSX). The files are committed; run this only to change them:
    pip install openpyxl && python3 tools/make_fixtures.py
"""
import json
import pathlib

import openpyxl

root = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
root.mkdir(exist_ok=True)

# A purchased list as vendors send them: CP1251, `;`, Russian headers, two phone columns.
purchased = [
    ["ФИО", "Телефон", "Моб. телефон", "E-mail", "Компания", "Город", "ИНН"],
    ["Иванов Иван Иванович", "8 (916) 123-45-67", "", "IVANOV@MAIL.RU", "ООО \"Ромашка\"", "г. Москва", "7707083893"],
    ["ПЕТРОВА МАРИЯ СЕРГЕЕВНА", "+7 495 765-43-21 доб. 123", "8-926-111-22-33", "petrova@yandex.ru", "АО «Вектор»", "Москва", ""],
    ["Сидоров С. С.", "8 800 555 35 35", "", "", "ИП Сидоров", "Санкт-Петербург", "500100732259"],
    ["Кузнецова Анна", "12345", "", "kuznetsova@gmial.com", "", "Казань", ""],
    ["Смирнов Алексей Петрович", "89031234567, 8 (812) 555-12-34", "", "info@stroyinvest.ru", "ООО «Стройинвест»", "СПб", "7812014560"],
    ["Федоров Фёдор", "не звонить", "", "", "", "Тула", ""],  # no usable contact: reject
    ["Попов Павел", "+7 (999) 000-11-22", "", "popov@", "", "Екатеринбург", ""],
    ["Морозова Ольга Викторовна", "8 (916) 123-45-67", "", "", "", "Москва", ""],
    ["Волков Игорь", "8 983 123 45 67", "", "volkov@mail.ru", "", "Новосибирск", "", "лишняя колонка"],  # ragged: reject
    ["Лебедев Николай Андреевич", "", "", "lebedev@bk.ru", "", "Самара", ""],
    ["Зайцева Екатерина", "8 (4012) 55-66-77", "", "", "", "Калининград", ""],
    ["Егоров Олег", "+7 914 700 80 90", "", "egorov@mail.ry", "", "Владивосток", ""],
    ["", "", "", "", "", "", ""],  # blank row: skipped
    ["Павлов Денис Юрьевич", "8 (915) 222-33-44", "", "sales@pavlov-trade.ru", "ООО Павлов Трейд", "Москва", "7701234567"],
    ["Иванов Иван", "+79161234567", "", "ivanov@mial.ru", "", "Москва", ""],
    ["Козлов", "8 (915) 22", ""],  # short row: reject
]
with open(root / "purchased_cp1251.csv", "w", encoding="cp1251", newline="") as f:
    for row in purchased:
        cells = []
        for c in row:
            if ";" in c or '"' in c or "\n" in c:
                c = '"' + c.replace('"', '""') + '"'
            cells.append(c)
        f.write(";".join(cells) + "\r\n")

# An XLSX list with separate name columns and phones stored as numbers.
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Лиды"
ws.append(["Выгрузка из CRM, ноябрь 2026"])  # title line above the header is common
ws.append([])
rows = [
    ["Фамилия", "Имя", "Отчество", "Мобильный телефон", "Почта", "Организация", "Город", "Дата добавления"],
    ["Иванов", "Иван", "Иванович", 79161234567, "ivanov@mail.ru", "ООО Ромашка", "Москва", "2026-11-01"],
    ["Николаева", "Наталья", "Игоревна", 89057778899, "n.nikolaeva@gmail.com", "", "Нижний Новгород", "2026-10-15"],
    ["Орлов", "Юрий", "", "+7 (921) 345-67-89", "orlov@list.ru", "ПАО Сигма", "Санкт-Петербург", "2026-09-30"],
    ["Андреев", "Андрей", "Андреевич", 123, "", "", "Краснодар", "2026-11-02"],  # invalid phone, no email
    ["Макарова", "Ксения", "", "", "makarova@inbox.ru", "", "Пермь", "2026-11-03"],
    ["Никитин", "Роман", "Олегович", 84959998877, "office@sigma.ru", "ПАО Сигма", "Москва", "2026-11-04"],
]
for r in rows:
    ws.append(r)
wb.create_sheet("Пусто")
wb.save(root / "purchased_list.xlsx")

# A web form export: consent checkbox, timestamp, text version, page URL, IP; unknown keys too.
form = [
    {"name": "Иванов Иван", "phone": "+7 916 123-45-67", "email": "ivanov@mail.ru", "consent": True,
     "consent_at": "2026-11-20T10:15:00+03:00", "consent_version": "v3", "page_url": "https://example.ru/landing",
     "ip": "203.0.113.5", "utm_source": "yandex"},
    {"name": "Ivan Petrov", "phone": "89161112233", "email": "", "consent": "да",
     "consent_at": "20.11.2026 11:00", "consent_version": "v3", "page_url": "https://example.ru/landing", "ip": "198.51.100.7"},
    {"name": "Мария Кузнецова", "phone": "", "email": "m.kuznetsova@yandex.ru", "consent": False,
     "consent_at": "", "consent_version": "v3", "page_url": "https://example.ru/price", "ip": "198.51.100.8"},
    "{\"name\": \"Сломанная строка\", \"phone\": ",  # truncated JSON: reject
    {"name": "Сергей", "phone": "8 (999) 123", "email": "sergey@example", "consent": True,
     "consent_at": "2026-11-21 09:00:00", "consent_version": "v3", "page_url": "https://example.ru/landing"},  # no contact: reject
    {"name": "Алексеева Дарья Павловна", "phone": "+7 (903) 555-44-33", "email": "DARYA@Mail.Ru", "consent": "1",
     "consent_at": 1763712000, "consent_version": "v2", "page_url": "https://example.ru/promo", "ip": "203.0.113.9",
     "user_agent": "Mozilla/5.0"},
    ["not", "an", "object"],  # reject
]
with open(root / "web_form.jsonl", "w", encoding="utf-8") as f:
    for item in form:
        f.write((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n")
print("fixtures written to", root)
