use super::*;
use proptest::prelude::*;
use CallOutcome::*;

fn read(text: &str) -> Option<CallOutcome> {
    read_outcome(text)
}

#[test]
fn every_line_of_the_vocabulary_is_read() {
    let text = include_str!("../../data/call_outcomes.tsv");
    let bad: Vec<&str> = entries(text).filter_map(Result::err).collect();
    assert!(bad.is_empty(), "unreadable lines: {bad:?}");
    // One spelling, one meaning.
    let mut seen: HashMap<String, CallOutcome> = HashMap::new();
    for (code, words, _) in entries(text).filter_map(Result::ok) {
        let prior = seen.insert(fold(words), code);
        assert!(
            prior.is_none_or(|p| p == code),
            "{words:?} is {prior:?} and {code:?}"
        );
    }
    // Every outcome has words in both languages.
    for code in CallOutcome::ALL {
        let words: Vec<String> = seen
            .iter()
            .filter(|(_, c)| **c == code)
            .map(|(w, _)| w.clone())
            .collect();
        assert!(words
            .iter()
            .any(|w| w.chars().any(|c| ('а'..='я').contains(&c))));
        assert!(words.iter().any(|w| w.is_ascii()));
    }
}

#[test]
fn folding_ignores_case_yo_punctuation_and_spaces() {
    assert_eq!(fold("  Не  взял_трубку!! "), "не взял трубку");
    assert_eq!(fold("НЕ БЕРЁТ ТРУБКУ"), "не берет трубку");
    assert_eq!(fold("Don't call"), "dont call");
    assert_eq!(fold("wrong-number"), "wrong number");
    assert_eq!(fold("…"), "");
}

#[test]
fn russian_words_operators_write() {
    for (text, code) in [
        ("не взял трубку", NoAnswer),
        ("Не берёт трубку", NoAnswer),
        ("нет ответа", NoAnswer),
        ("занято", NoAnswer),
        ("Автоответчик", NoAnswer),
        ("голосовая почта", NoAnswer),
        ("абонент недоступен", NoAnswer),
        ("перезвонить", Callback),
        ("Перезвонить завтра", Callback),
        ("просил перезвонить", Callback),
        ("перезвонить завтра в 10:00", Callback),
        ("отказ", Refused),
        ("не интересно", Refused),
        ("Не заинтересован", Refused),
        ("не звонить", DoNotCall),
        ("больше не звонить", DoNotCall),
        ("просил не беспокоить", DoNotCall),
        ("не перезванивать", DoNotCall),
        ("неверный номер", WrongNumber),
        ("номер не существует", WrongNumber),
        ("не тот номер", WrongNumber),
        ("сделка", Reached),
        ("согласен", Reached),
        ("встреча назначена", Reached),
        ("Дозвон", Reached),
        ("разговор состоялся", Reached),
        ("разговор не состоялся", NoAnswer),
    ] {
        assert_eq!(read(text), Some(code), "{text}");
    }
}

#[test]
fn english_words_and_dialer_codes() {
    for (text, code) in [
        ("no answer", NoAnswer),
        ("No_Answer", NoAnswer),
        ("busy", NoAnswer),
        ("Voicemail", NoAnswer),
        ("answering machine", NoAnswer),
        ("call back", Callback),
        ("Callback", Callback),
        ("call back tomorrow at 3pm", Callback),
        ("refused", Refused),
        ("Not interested", Refused),
        ("do not call", DoNotCall),
        ("DNC", DoNotCall),
        ("Don't call again", DoNotCall),
        ("wrong number", WrongNumber),
        ("invalid number", WrongNumber),
        ("sale", Reached),
        ("interested", Reached),
        ("Appointment set", Reached),
        ("NI", Refused),
        ("B", NoAnswer),
        ("CALLBK", Callback),
    ] {
        assert_eq!(read(text), Some(code), "{text}");
    }
}

#[test]
fn stops_win_wherever_they_are() {
    assert_eq!(read("Клиент: больше НЕ ЗВОНИТЬ!"), Some(DoNotCall));
    assert_eq!(read("перезвонить? нет, просил не звонить"), Some(DoNotCall));
    assert_eq!(read("DNC-list"), Some(DoNotCall));
    assert_eq!(stop_in("жена сказала: ошиблись номером"), Some(WrongNumber));
    assert_eq!(stop_in("перезвонить после обеда"), None);
    assert_eq!(read("просила не беспокоить"), Some(DoNotCall));
    // "Не беспокойтесь, перезвоню сама" (don't worry) asks for nothing of the kind.
    assert_eq!(stop_in("не беспокойтесь, перезвоню сама"), None);
    assert_eq!(read("клиент пожаловался, не звоните ему"), Some(DoNotCall));
    assert_eq!(stop_in("dncl"), Some(DoNotCall));
    assert_eq!(stop_in("adnc"), None);
    // "не дозвонились" is no "не звонить"; "вне зоны" holds no "не".
    assert_eq!(read("не дозвонились"), Some(NoAnswer));
    assert_eq!(read("вне зоны доступа"), Some(NoAnswer));
}

#[test]
fn unknown_or_turned_around_words_are_not_guessed() {
    assert_eq!(read("трубку взяла бабушка"), None);
    assert_eq!(read("purchase"), None);
    assert_eq!(read(""), None);
    // A negation no entry took in turns the rest around: refused to a person instead.
    assert_eq!(read("не очень интересно"), None);
    assert_eq!(read("no sale"), None);
    // Short dialer codes only as the whole cell.
    assert_eq!(read("a"), Some(NoAnswer));
    assert_eq!(read("plan a"), None);
}

#[test]
fn several_outcomes_in_one_cell_the_strongest_wins() {
    assert_eq!(read("занято, перезвонить"), Some(Callback));
    assert_eq!(read("дозвон, отказ"), Some(Refused));
}

#[test]
fn call_result_columns_by_header() {
    assert_eq!(call_column("Результат звонка"), Some(CallColumn::Outcome));
    assert_eq!(call_column("ИТОГ"), Some(CallColumn::Outcome));
    assert_eq!(call_column("Перезвонить в"), Some(CallColumn::CallbackAt));
    assert_eq!(call_column("Дата перезвона"), Some(CallColumn::CallbackAt));
    assert_eq!(call_column("callback_at"), Some(CallColumn::CallbackAt));
    assert_eq!(call_column("Комментарий"), Some(CallColumn::Note));
    assert_eq!(call_column("note"), Some(CallColumn::Note));
    assert_eq!(call_column("Телефон"), None);
}

fn msk() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).unwrap()
}

/// A call at 12:00 Moscow time on Monday 23 November 2026.
fn called() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T12:00:00+03:00")
        .unwrap()
        .to_utc()
}

fn when(text: &str) -> Option<String> {
    callback_from_words(text, called(), msk())
        .map(|t| t.with_timezone(&msk()).format("%Y-%m-%d %H:%M").to_string())
}

#[test]
fn callback_times_from_words() {
    for (text, at) in [
        ("перезвонить завтра", "2026-11-24 00:00"),
        ("Перезвонить завтра в 10", "2026-11-24 10:00"),
        ("завтра в 15:30", "2026-11-24 15:30"),
        ("перезвонить послезавтра утром", "2026-11-25 10:00"),
        ("через 2 часа", "2026-11-23 14:00"),
        ("через час", "2026-11-23 13:00"),
        ("через полчаса", "2026-11-23 12:30"),
        ("через 3 дня", "2026-11-26 00:00"),
        ("через неделю", "2026-11-30 00:00"),
        ("на следующей неделе", "2026-11-30 00:00"),
        ("в пятницу", "2026-11-27 00:00"),
        ("в понедельник в 11", "2026-11-30 11:00"),
        ("в 10", "2026-11-24 10:00"),
        ("в 18 часов", "2026-11-23 18:00"),
        ("в 7 вечера", "2026-11-23 19:00"),
        ("сегодня вечером", "2026-11-23 18:00"),
        ("после обеда", "2026-11-23 14:00"),
        ("25.11", "2026-11-25 00:00"),
        ("25.11 в 10.30", "2026-11-25 10:30"),
        ("01.02.2027 09:15", "2027-02-01 09:15"),
        ("call back tomorrow at 3pm", "2026-11-24 15:00"),
        ("in 2 hours", "2026-11-23 14:00"),
        ("next week", "2026-11-30 00:00"),
    ] {
        assert_eq!(when(text).as_deref(), Some(at), "{text}");
    }
    for text in [
        "перезвонить",
        "перезвонить позже",
        "call back later",
        "отказ",
    ] {
        assert_eq!(when(text), None, "{text}");
    }
}

#[test]
fn a_callback_column_takes_dates_in_any_format() {
    let at = |cell: &str| {
        callback_at(cell, called(), msk())
            .map(|t| t.with_timezone(&msk()).format("%Y-%m-%d %H:%M").to_string())
    };
    assert_eq!(at("24.11.2026 10:00").as_deref(), Some("2026-11-24 10:00"));
    assert_eq!(
        at("2026-11-24T07:00:00Z").as_deref(),
        Some("2026-11-24 10:00")
    );
    // A date alone: the start of that day (the calling window picks the hour).
    assert_eq!(at("24.11.2026").as_deref(), Some("2026-11-24 00:00"));
    assert_eq!(at("завтра в 9").as_deref(), Some("2026-11-24 09:00"));
    assert_eq!(at("когда-нибудь"), None);
}

proptest! {
    /// Whatever the text, reading it never panics, and an outcome found as a stop anywhere
    /// is the outcome read.
    #[test]
    fn reading_is_total_and_stops_always_win(text in "\\PC{0,40}") {
        let outcome = read(&text);
        if let Some(stop) = stop_in(&text) {
            prop_assert_eq!(outcome, Some(stop));
        }
        let _ = callback_from_words(&text, called(), msk());
    }

    /// Case, ё and punctuation around a known entry change nothing.
    #[test]
    fn spelling_noise_is_ignored(i in 0usize..40, upper in any::<bool>(), bang in any::<bool>()) {
        let text = include_str!("../../data/call_outcomes.tsv");
        let list: Vec<_> = entries(text).filter_map(Result::ok).collect();
        let (code, words, _) = list[i * list.len() / 40];
        let mut noisy = if upper { words.to_uppercase() } else { words.to_string() };
        if bang { noisy = format!("  {}!! ", noisy.replace(' ', "  ")); }
        prop_assert_eq!(read(&noisy), Some(code));
    }
}
