//! Why a call list came out empty or short, in words, with what to do about it. A team
//! lead who gets "0 numbers" needs to hear that a bought list cannot carry consent, or
//! that it is night in the callees' time zone, and which flag or command changes that;
//! a count of reason codes is not an answer.

use crate::consent_commands::CallList;
use crate::export::CallListStats;
use crate::lang::Lang;
use serde::Serialize;

/// One reason numbers are missing from the list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Shortfall {
    /// Stable code (`consent_claimed`, `outside_window`, …), for scripts.
    pub reason: String,
    /// How many numbers (or leads, for `no_consent_record`) it took out.
    pub count: u64,
    /// What happened, in the chosen language.
    pub why: String,
    /// What to do about it (empty when nothing should be done).
    pub what_to_do: String,
}

/// What the list holds against what the base could hold, and each reason for the gap.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// One sentence: empty, short, or fine.
    pub headline: String,
    pub reasons: Vec<Shortfall>,
}

/// The list's shortfall against `leads_with_phone` (leads that have a number at all),
/// biggest reasons first.
pub fn explain(
    list: &CallList,
    stats: &CallListStats,
    leads_with_phone: u64,
    lang: Lang,
) -> Explanation {
    let mut reasons: Vec<Shortfall> = list
        .blocked_by_reason
        .iter()
        .map(|(code, n)| gate_reason(code, *n, lang))
        .collect();
    let with_history = list
        .callable
        .iter()
        .chain(&list.blocked)
        .map(|d| d.lead_id)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    let no_record = leads_with_phone.saturating_sub(with_history);
    if no_record > 0 {
        reasons.push(shortfall(
            "no_consent_record",
            no_record,
            lang.pick(
                "лиды с телефоном без единой записи о согласии на звонки (так бывает с купленными списками и открытыми источниками)",
                "leads with a phone but no call consent on record at all (typical of bought lists and open sources)",
            ),
            lang.pick(
                "звонить им можно только после согласия: соберите его через форму или импортируйте файл с согласиями",
                "they can be called only after consent: collect it through a form, or import a file that carries it",
            ),
        ));
    }
    reasons.extend(shaping_reasons(stats, lang));
    reasons.retain(|r| r.count > 0);
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    Explanation {
        headline: headline(stats.rows as u64, leads_with_phone, lang),
        reasons,
    }
}

fn shortfall(reason: &str, count: u64, why: &str, what_to_do: &str) -> Shortfall {
    Shortfall {
        reason: reason.to_string(),
        count,
        why: why.to_string(),
        what_to_do: what_to_do.to_string(),
    }
}

fn headline(rows: u64, leads_with_phone: u64, lang: Lang) -> String {
    let leads = plural_ru(leads_with_phone, ["лида", "лидов", "лидов"]);
    match lang {
        Lang::Ru if rows == 0 => {
            format!("Список пуст: из {leads_with_phone} {leads} с телефоном сейчас нельзя звонить ни одному. Почему:")
        }
        Lang::En if rows == 0 => {
            format!("The list is empty: none of the {leads_with_phone} leads with a phone may be called now. Why:")
        }
        Lang::Ru => format!(
            "В списке {rows} {} на {leads_with_phone} {leads} с телефоном. Остальные не вошли:",
            plural_ru(rows, ["номер", "номера", "номеров"])
        ),
        Lang::En => format!("The list has {rows} numbers for {leads_with_phone} leads with a phone. The rest are out:"),
    }
}

/// The Russian noun form for `n`: 1 номер, 2 номера, 5 номеров, 21 номер, 11 номеров.
pub fn plural_ru(n: u64, forms: [&str; 3]) -> &str {
    match (n % 10, n % 100) {
        (_, 11..=14) => forms[2],
        (1, _) => forms[0],
        (2..=4, _) => forms[1],
        _ => forms[2],
    }
}

/// The call gate's reasons (consent and suppression), from its reason codes.
fn gate_reason(code: &str, n: u64, lang: Lang) -> Shortfall {
    let (why, what) = match code {
        "consent_claimed" => (
            lang.pick(
                "номера из купленных списков: продавец лишь заявляет о согласии, доказательства у вас нет (152-ФЗ, ст. 18 закона о рекламе)",
                "numbers from bought lists: the vendor only claims consent, you hold no proof of it",
            ),
            lang.pick(
                "получите согласие сами; если человек уже ваш клиент по договору, звонок по обслуживанию: --purpose service",
                "collect consent yourselves; for existing customers under a contract, a service call: --purpose service",
            ),
        ),
        "consent_withdrawn" => (
            lang.pick("согласие отозвано", "consent withdrawn"),
            lang.pick("не звонить, пока человек не даст согласие снова", "do not call unless the person consents again"),
        ),
        "consent_expired" => (
            lang.pick("срок согласия истёк", "consent expired"),
            lang.pick("запросите согласие заново (форма, письмо)", "ask for consent again (a form, an e-mail)"),
        ),
        "consent_none" => (
            lang.pick("нет согласия на такие звонки", "no consent for this kind of call"),
            lang.pick("согласие на другие каналы или цели не даёт права на рекламный звонок", "consent for another channel or purpose does not cover an advertising call"),
        ),
        "consent_not_for_this_number" => (
            lang.pick("согласие дано для другого номера этого человека", "consent was given for another of the person's numbers"),
            lang.pick("звоните на номер, с которого дано согласие (он в списке, если его можно)", "call the number consent was given for (it is listed if allowed)"),
        ),
        "suppressed" => (
            lang.pick("в стоп-листах (отказ, жалоба, реестр «не звонить»)", "on suppression lists (opt-out, complaint, do-not-call register)"),
            lang.pick("так и должно быть; списки: leadpipe compliance report --out report.html", "as it should be; the lists: leadpipe compliance report --out report.html"),
        ),
        "invalid_phone" => (
            lang.pick("номер не существует или записан с ошибкой", "not a valid phone number"),
            lang.pick("поправьте их в источнике; отбракованные строки: leadpipe sql \"FROM rejects\"", "fix them at the source; rejected rows: leadpipe sql \"FROM rejects\""),
        ),
        other => (other, ""),
    };
    shortfall(code, n, why, what)
}

/// The list's own shaping: filters, calling windows, capacity, shared numbers.
fn shaping_reasons(stats: &CallListStats, lang: Lang) -> Vec<Shortfall> {
    let filters_took_all = stats.filtered_out > 0 && stats.filtered_out == stats.callable_numbers;
    vec![
        shortfall(
            "filtered_out",
            stats.filtered_out as u64,
            if filters_took_all {
                lang.pick("отсеяны фильтрами: под них не подошёл ни один номер, которому можно звонить", "left out by your filters: no callable number matches them")
            } else {
                lang.pick("отсеяны фильтрами (--tier, --min-score, --source, --city, --region)", "left out by your filters (--tier, --min-score, --source, --city, --region)")
            },
            lang.pick("ослабьте или уберите фильтры", "loosen or drop the filters"),
        ),
        shortfall(
            "outside_window",
            stats.outside_window as u64,
            lang.pick("у клиента сейчас неурочное время (его местное время вне окна звонков)", "outside the calling window in the callee's local time"),
            lang.pick("--outside-window schedule оставит их в списке со временем «звонить с»; --as-of составит список на другое время; --window меняет окно", "--outside-window schedule keeps them with a call-from time; --as-of makes the list for another time; --window changes the window"),
        ),
        shortfall(
            "callback_later",
            stats.callback_later as u64,
            lang.pick("просили перезвонить позже — время ещё не пришло", "asked to be called back later, and the time has not come"),
            lang.pick("они сами встанут в начало списка, когда придёт время; --as-of покажет список на то время", "they go to the top of the list when the time comes; --as-of shows the list for then"),
        ),
        shortfall(
            "over_capacity",
            stats.over_capacity as u64,
            lang.pick("не поместились в норму операторов", "over the operators' capacity"),
            lang.pick("увеличьте --capacity или --operators", "raise --capacity or --operators"),
        ),
        shortfall(
            "duplicate_numbers",
            stats.duplicate_numbers as u64,
            lang.pick("номер общий у нескольких лидов, указан один раз", "shared by several leads, listed once"),
            "",
        ),
    ]
}

/// The explanation as lines for a terminal.
pub fn print(e: &Explanation) {
    println!("{}", e.headline);
    for r in &e.reasons {
        println!("  {:>8}  {}", r.count, r.why);
        if !r.what_to_do.is_empty() {
            println!("            → {}", r.what_to_do);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::Purpose;
    use std::collections::BTreeMap;

    fn list(blocked: &[(&str, u64)]) -> CallList {
        CallList {
            as_of: chrono::Utc::now(),
            purpose: Purpose::Advertising,
            callable: Vec::new(),
            blocked: Vec::new(),
            blocked_by_reason: blocked
                .iter()
                .map(|(c, n)| (c.to_string(), *n))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn an_empty_list_from_a_bought_list_says_why_and_what_to_do() {
        let stats = CallListStats::default();
        // (The test list holds no decisions, so no lead counts as having a consent record;
        // a base of 0 leads with a phone keeps `no_consent_record` out of the way.)
        let e = explain(&list(&[("consent_claimed", 12)]), &stats, 0, Lang::Ru);
        assert!(e.headline.starts_with("Список пуст"), "{}", e.headline);
        assert_eq!(e.reasons.len(), 1);
        assert_eq!(e.reasons[0].reason, "consent_claimed");
        assert_eq!(e.reasons[0].count, 12);
        assert!(e.reasons[0].what_to_do.contains("--purpose service"));
    }

    #[test]
    fn night_and_filters_are_named_with_their_flags_biggest_first() {
        let stats = CallListStats {
            callable_numbers: 10,
            filtered_out: 2,
            outside_window: 7,
            rows: 1,
            ..CallListStats::default()
        };
        let e = explain(&list(&[]), &stats, 0, Lang::En);
        let codes: Vec<&str> = e.reasons.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(codes, ["outside_window", "filtered_out"]);
        assert!(e.reasons[0]
            .what_to_do
            .contains("--outside-window schedule"));
        assert!(e.headline.contains("1 numbers"), "{}", e.headline);
        assert_eq!(plural_ru(1, ["номер", "номера", "номеров"]), "номер");
        assert_eq!(plural_ru(3, ["номер", "номера", "номеров"]), "номера");
        assert_eq!(plural_ru(12, ["номер", "номера", "номеров"]), "номеров");
        assert_eq!(plural_ru(21, ["номер", "номера", "номеров"]), "номер");
    }

    #[test]
    fn filters_that_match_nothing_say_so() {
        let stats = CallListStats {
            callable_numbers: 3,
            filtered_out: 3,
            ..CallListStats::default()
        };
        let e = explain(&list(&[]), &stats, 0, Lang::En);
        assert!(e.reasons[0].why.contains("no callable number matches"));
    }
}
