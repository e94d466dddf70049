//! Synthetic Russian leads for benchmarks and accuracy tests, with ground truth: every row
//! carries the `entity_id` of the person it describes. Corruptions mimic real lists: phone
//! formats, name order and case, initials, Latin spelling, e-mail case and typo domains,
//! invalid numbers, missing values, and family members sharing a landline.

use std::io::Write;
use std::path::Path;

/// Common surnames (drawn often) and roots for rarer ones: real lists have a long tail of
/// surnames, and deduplication must get both the Ивановы and the rare names right.
const SURNAMES: [&str; 40] = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Федоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семенов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьев",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьев",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королев",
    "Гусев",
    "Киселев",
];
const ROOTS: [&str; 120] = [
    "Абрам",
    "Агап",
    "Аксен",
    "Алфер",
    "Аникин",
    "Анис",
    "Арсен",
    "Астах",
    "Бабк",
    "Багр",
    "Бажен",
    "Балаш",
    "Барыш",
    "Бегун",
    "Белоус",
    "Берез",
    "Бирюк",
    "Блин",
    "Бобр",
    "Богдан",
    "Болот",
    "Бонд",
    "Брагин",
    "Бурак",
    "Быков",
    "Вавил",
    "Варлам",
    "Вдовин",
    "Вереш",
    "Вилк",
    "Власк",
    "Вороб",
    "Галк",
    "Гаран",
    "Глазк",
    "Голуб",
    "Горбун",
    "Гордеев",
    "Греч",
    "Грош",
    "Губан",
    "Давыд",
    "Дегт",
    "Демид",
    "Дорох",
    "Дубк",
    "Ерем",
    "Ершк",
    "Жаворонк",
    "Жуков",
    "Забел",
    "Зайк",
    "Зимин",
    "Злобин",
    "Зуб",
    "Игнат",
    "Исаак",
    "Казак",
    "Калач",
    "Каргаш",
    "Кирил",
    "Клим",
    "Колесн",
    "Комар",
    "Копыл",
    "Корн",
    "Кос",
    "Кочет",
    "Крюк",
    "Кудр",
    "Лапт",
    "Ларион",
    "Лемех",
    "Лис",
    "Лукаш",
    "Мамонт",
    "Маслен",
    "Медвед",
    "Мельник",
    "Мирон",
    "Моисе",
    "Мух",
    "Наум",
    "Нестер",
    "Овчинник",
    "Окун",
    "Осип",
    "Пахом",
    "Перепел",
    "Плотник",
    "Подкован",
    "Полушк",
    "Прохор",
    "Пчел",
    "Рогож",
    "Рыбак",
    "Сазон",
    "Самсон",
    "Сверчк",
    "Селезн",
    "Синиц",
    "Скворц",
    "Смолян",
    "Снегир",
    "Сорок",
    "Стрелк",
    "Сурк",
    "Табак",
    "Тарас",
    "Тетерин",
    "Тимофе",
    "Ткач",
    "Трофим",
    "Устин",
    "Филат",
    "Фомич",
    "Харитон",
    "Цветк",
    "Чайк",
    "Шапк",
];
const ROOT_SUFFIXES: [&str; 4] = ["ов", "ин", "ский", "енко"];
const MALE: [&str; 32] = [
    "Александр",
    "Сергей",
    "Дмитрий",
    "Андрей",
    "Алексей",
    "Максим",
    "Евгений",
    "Иван",
    "Михаил",
    "Артем",
    "Николай",
    "Владимир",
    "Павел",
    "Роман",
    "Олег",
    "Юрий",
    "Виктор",
    "Игорь",
    "Константин",
    "Денис",
    "Антон",
    "Борис",
    "Вадим",
    "Валерий",
    "Василий",
    "Геннадий",
    "Григорий",
    "Илья",
    "Кирилл",
    "Леонид",
    "Степан",
    "Тимофей",
];
const FEMALE: [&str; 32] = [
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Мария",
    "Светлана",
    "Екатерина",
    "Юлия",
    "Анастасия",
    "Марина",
    "Людмила",
    "Галина",
    "Дарья",
    "Ксения",
    "Виктория",
    "Алина",
    "Валентина",
    "Надежда",
    "Вера",
    "Полина",
    "Софья",
    "Алёна",
    "Лариса",
    "Любовь",
    "Маргарита",
    "Кристина",
    "Оксана",
    "Евгения",
    "Елизавета",
    "Тамара",
];
const FATHERS: [&str; 12] = [
    "Иван",
    "Петр",
    "Сергей",
    "Александр",
    "Николай",
    "Владимир",
    "Андрей",
    "Михаил",
    "Алексей",
    "Юрий",
    "Виктор",
    "Дмитрий",
];
const CITIES: [&str; 12] = [
    "Москва",
    "г. Москва",
    "Санкт-Петербург",
    "СПб",
    "Новосибирск",
    "Екатеринбург",
    "Казань",
    "Нижний Новгород",
    "Самара",
    "Краснодар",
    "Владивосток",
    "Калининград",
];
const DOMAINS: [&str; 8] = [
    "mail.ru",
    "yandex.ru",
    "gmail.com",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "rambler.ru",
    "ya.ru",
];
const COMPANIES: [&str; 8] = [
    "ООО \"Ромашка\"",
    "АО Вектор",
    "ИП Петров",
    "ООО «Стройинвест»",
    "ПАО Сигма",
    "",
    "",
    "",
];

/// A typing slip in a domain: two letters swapped, one dropped, or `.ru` → `.ry`.
fn typo(domain: &str, rng: &mut Rng) -> String {
    let (name, tld) = domain.rsplit_once('.').unwrap_or((domain, "ru"));
    let chars: Vec<char> = name.chars().collect();
    match rng.below(3) {
        0 if chars.len() >= 3 => {
            let i = rng.below(chars.len() - 1);
            let mut c = chars.clone();
            c.swap(i, i + 1);
            format!("{}.{tld}", c.into_iter().collect::<String>())
        }
        1 if chars.len() >= 4 => {
            let i = rng.below(chars.len());
            let c: String = chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c)
                .collect();
            format!("{c}.{tld}")
        }
        _ => format!("{name}.{}", if tld == "ru" { "ry" } else { "con" }),
    }
}

/// splitmix64: tiny, fast, reproducible; the generator needs nothing stronger.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// One person as the generator knows them (the truth).
#[derive(Debug, Clone)]
pub struct Person {
    pub id: u64,
    pub last: String,
    pub first: String,
    pub middle: String,
    pub female: bool,
    /// National significant number (10 digits).
    pub phone: String,
    pub email_local: String,
    pub domain: &'static str,
    pub city: &'static str,
    pub company: &'static str,
}

fn feminine(surname: &str) -> String {
    format!("{surname}а")
}

fn patronymic(father: &str, female: bool) -> String {
    let suffix = if female { "евна" } else { "евич" };
    if let Some(stem) = father.strip_suffix("ий") {
        format!("{stem}ь{suffix}") // Юрий → Юрьевич
    } else if let Some(stem) = father.strip_suffix('й') {
        format!("{stem}{suffix}") // Андрей → Андреевич
    } else if female {
        format!("{father}овна")
    } else {
        format!("{father}ович")
    }
}

const TRANSLIT: [(char, &str); 33] = [
    ('а', "a"),
    ('б', "b"),
    ('в', "v"),
    ('г', "g"),
    ('д', "d"),
    ('е', "e"),
    ('ё', "e"),
    ('ж', "zh"),
    ('з', "z"),
    ('и', "i"),
    ('й', "y"),
    ('к', "k"),
    ('л', "l"),
    ('м', "m"),
    ('н', "n"),
    ('о', "o"),
    ('п', "p"),
    ('р', "r"),
    ('с', "s"),
    ('т', "t"),
    ('у', "u"),
    ('ф', "f"),
    ('х', "kh"),
    ('ц', "ts"),
    ('ч', "ch"),
    ('ш', "sh"),
    ('щ', "shch"),
    ('ъ', ""),
    ('ы', "y"),
    ('ь', ""),
    ('э', "e"),
    ('ю', "yu"),
    ('я', "ya"),
];

/// Simple passport-style transliteration for generated Latin spellings.
pub fn latin(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        match TRANSLIT.iter().find(|(k, _)| *k == lower) {
            Some((_, v)) if c.is_uppercase() => {
                let mut cs = v.chars();
                if let Some(f) = cs.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(cs.as_str());
                }
            }
            Some((_, v)) => out.push_str(v),
            None => out.push(c),
        }
    }
    out
}

impl Person {
    pub fn random(id: u64, rng: &mut Rng) -> Person {
        let female = rng.chance(50);
        // A third of people carry a common surname; the rest spread over the long tail.
        let surname = if rng.chance(33) {
            rng.pick(&SURNAMES).to_string()
        } else {
            format!("{}{}", rng.pick(&ROOTS), rng.pick(&ROOT_SUFFIXES))
        };
        let last = if !female {
            surname
        } else if let Some(stem) = surname.strip_suffix("ский") {
            format!("{stem}ская")
        } else if surname.ends_with("енко") {
            surname
        } else {
            feminine(&surname)
        };
        let first = if female {
            rng.pick(&FEMALE)
        } else {
            rng.pick(&MALE)
        }
        .to_string();
        let middle = patronymic(rng.pick(&FATHERS), female);
        let code = [916, 915, 926, 903, 905, 985, 999, 921, 495, 812][rng.below(10)];
        let phone = format!("{code}{:07}", rng.next_u64() % 10_000_000);
        let email_local = format!(
            "{}.{}{}",
            latin(&first).to_lowercase(),
            latin(&last).to_lowercase(),
            rng.below(1000)
        );
        Person {
            id,
            last,
            first,
            middle,
            female,
            phone,
            email_local,
            domain: rng.pick(&DOMAINS),
            city: rng.pick(&CITIES),
            company: rng.pick(&COMPANIES),
        }
    }

    /// One row describing this person, as some list would have it.
    pub fn row(&self, rng: &mut Rng) -> [String; 6] {
        let p = &self.phone;
        let phone = match rng.below(12) {
            0 => format!("8 ({}) {}-{}-{}", &p[..3], &p[3..6], &p[6..8], &p[8..]),
            1 => format!("+7{p}"),
            2 => format!("7{p}"),
            3 => format!("8{p}"),
            4 => format!("+7 {} {} {} {}", &p[..3], &p[3..6], &p[6..8], &p[8..]),
            5 => format!("8-{}-{}-{}-{}", &p[..3], &p[3..6], &p[6..8], &p[8..]),
            6 => p.to_string(),
            7 => format!(
                "+7 ({}) {}{}{} доб. {}",
                &p[..3],
                &p[3..6],
                &p[6..8],
                &p[8..],
                rng.below(900) + 100
            ),
            8 => String::new(),
            9 => format!("8 ({}) {}-{}", &p[..3], &p[3..6], &p[6..8]), // truncated: invalid
            _ => format!("+7{p}"),
        };
        let name = match rng.below(10) {
            0 => format!("{} {}", self.first, self.last),
            1 => format!("{} {}", latin(&self.first), latin(&self.last)),
            2 => format!(
                "{} {}.{}.",
                self.last,
                self.first.chars().next().unwrap_or('И'),
                self.middle.chars().next().unwrap_or('И')
            ),
            3 => format!("{} {} {}", self.last, self.first, self.middle).to_uppercase(),
            4 => format!("{} {} {}", self.first, self.middle, self.last),
            5 => format!("{} {} {}", self.last, self.first, self.middle).to_lowercase(),
            _ => format!("{} {} {}", self.last, self.first, self.middle),
        };
        let email = match rng.below(10) {
            0 | 1 => String::new(),
            2 => format!("{}@{}", self.email_local, self.domain).to_uppercase(),
            3 => format!("{}@{}", self.email_local, typo(self.domain, rng)),
            4 => format!("{}@", self.email_local), // broken
            _ => format!("{}@{}", self.email_local, self.domain),
        };
        [
            self.id.to_string(),
            name,
            phone,
            email,
            self.city.to_string(),
            self.company.to_string(),
        ]
    }
}

/// Generates `rows` rows (entity_id, ФИО, Телефон, E-mail, Город, Компания): people
/// appear 1–3 times; one person in twenty has a relative with the same landline (a hard
/// negative for deduplication).
pub fn rows(rows: usize, seed: u64) -> Vec<[String; 6]> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(rows);
    let mut next_id = 1u64;
    while out.len() < rows {
        let person = Person::random(next_id, &mut rng);
        next_id += 1;
        let copies = 1 + rng.below(3);
        let mut people = vec![person.clone()];
        if rng.chance(5) {
            let mut relative = Person::random(next_id, &mut rng);
            next_id += 1;
            relative.phone = person.phone.clone();
            // Same family name, in the relative's gender.
            let male_form = if let Some(stem) = person.last.strip_suffix("ская") {
                format!("{stem}ский")
            } else if person.female && person.last.ends_with('а') {
                person.last.trim_end_matches('а').to_string()
            } else {
                person.last.clone()
            };
            relative.last = match (relative.female, male_form.strip_suffix("ский")) {
                (false, _) => male_form,
                (true, Some(stem)) => format!("{stem}ская"),
                (true, None) if male_form.ends_with("енко") => male_form,
                (true, None) => feminine(&male_form),
            };
            people.push(relative);
        }
        for p in &people {
            for _ in 0..copies {
                if out.len() < rows {
                    out.push(p.row(&mut rng));
                }
            }
        }
    }
    out
}

/// Writes [`rows`] as CSV: UTF-8 with `,`, or CP1251 with `;` like a purchased list.
pub fn write_csv(path: &Path, rows: usize, seed: u64, cp1251: bool) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let sep = if cp1251 { ';' } else { ',' };
    let mut buf = String::with_capacity(1 << 16);
    buf.push_str(
        &["entity_id", "ФИО", "Телефон", "E-mail", "Город", "Компания"].join(&sep.to_string()),
    );
    buf.push('\n');
    for fields in self::rows(rows, seed) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                buf.push(sep);
            }
            if f.contains(sep) || f.contains('"') || f.contains('\n') {
                buf.push('"');
                buf.push_str(&f.replace('"', "\"\""));
                buf.push('"');
            } else {
                buf.push_str(f);
            }
        }
        buf.push('\n');
        if buf.len() > 1 << 16 {
            flush(&mut out, &mut buf, cp1251)?;
        }
    }
    flush(&mut out, &mut buf, cp1251)?;
    out.flush()
}

fn flush(out: &mut impl Write, buf: &mut String, cp1251: bool) -> std::io::Result<()> {
    if cp1251 {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(buf);
        out.write_all(&bytes)?;
    } else {
        out.write_all(buf.as_bytes())?;
    }
    buf.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_row_count_exact() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        write_csv(&a, 500, 7, false).unwrap();
        write_csv(&b, 500, 7, false).unwrap();
        let ta = std::fs::read_to_string(&a).unwrap();
        assert_eq!(ta, std::fs::read_to_string(&b).unwrap());
        let mut rdr = csv::Reader::from_path(&a).unwrap();
        assert_eq!(rdr.records().count(), 500);
    }

    #[test]
    fn patronymics_and_latin() {
        assert_eq!(patronymic("Юрий", false), "Юрьевич");
        assert_eq!(patronymic("Андрей", true), "Андреевна");
        assert_eq!(patronymic("Иван", true), "Ивановна");
        assert_eq!(latin("Щукин Юрий"), "Shchukin Yuriy");
    }
}
