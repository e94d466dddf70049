//! Maps whatever headers a file has onto the fields leadpipe knows, from a synonym table
//! kept as data (`data/headers.tsv`), overridable per source in the pipeline file.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

pub use crate::record::Field;

/// Folds a header for lookup: lowercase, ё→е, letters and digits only.
pub fn fold_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

static SYNONYMS: LazyLock<HashMap<String, Field>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for line in include_str!("../../data/headers.tsv").lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((field, header)) = line.split_once('\t') {
            if let Some(field) = Field::from_name(field) {
                map.entry(fold_header(header)).or_insert(field);
            }
        }
    }
    map
});

/// Which column feeds which field. Several columns may feed `Phone` or `Email`
/// (mobile + work phone); for the other fields the first non-empty column wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    pub columns: Vec<Option<Field>>,
}

impl ColumnMap {
    pub fn fields(&self) -> impl Iterator<Item = (usize, Field)> + '_ {
        self.columns
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|f| (i, f)))
    }

    pub fn has_identifying_field(&self) -> bool {
        self.fields().any(|(_, f)| f.is_identifying())
    }
}

/// An explicit mapping from the pipeline file was wrong, or nothing in the file could be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "column map names field {field:?}, which leadpipe does not know; known fields: {known}"
    )]
    UnknownField { field: String, known: String },
    #[error(
        "no column could be mapped to a name, phone, email or company. Headers found: {found}. \
         Expected headers such as ФИО, Фамилия, Имя, Телефон, E-mail, Компания (or name, phone, email, company); \
         map them in the pipeline file under [sources.columns]"
    )]
    NothingMapped { found: String },
}

/// Resolves headers (or JSON keys) to fields: explicit overrides from the pipeline file
/// first (a field name, or "" / "ignore" to drop a column), then the synonym table.
#[derive(Debug, Clone, Default)]
pub struct Mapper {
    overrides: HashMap<String, Option<Field>>,
    /// Maps a table that need not identify anyone by itself (a deals or spend file whose
    /// only "who" is a CRM customer id): [`Mapper::map_headers`] does not refuse it.
    any_table: bool,
}

impl Mapper {
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Mapper, MappingError> {
        let mut folded = HashMap::with_capacity(overrides.len());
        for (header, name) in overrides {
            let field = match name.trim() {
                "" | "ignore" => None,
                name => Some(
                    Field::from_name(name).ok_or_else(|| MappingError::UnknownField {
                        field: name.to_string(),
                        known: Field::ALL.map(Field::name).join(", "),
                    })?,
                ),
            };
            folded.insert(fold_header(header), field);
        }
        Ok(Mapper {
            overrides: folded,
            any_table: false,
        })
    }

    /// A mapper for tables other than lead lists: headers map as for leads, and a header
    /// row with no name, phone, e-mail or company is no error.
    pub fn for_any_table() -> Mapper {
        Mapper {
            any_table: true,
            ..Mapper::default()
        }
    }

    pub fn field(&self, header: &str) -> Option<Field> {
        let key = fold_header(header);
        match self.overrides.get(&key) {
            Some(f) => *f,
            None => match SYNONYMS.get(&key) {
                Some(f) => Some(*f),
                // A repeated header was landed as `Телефон_2`: map it as `Телефон`.
                None => header
                    .rsplit_once('_')
                    .filter(|(base, n)| {
                        !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|(base, _)| self.field(base)),
            },
        }
    }

    /// Maps a header row; fails when nothing identifies a person or company.
    pub fn map_headers(&self, headers: &[impl AsRef<str>]) -> Result<ColumnMap, MappingError> {
        let map = ColumnMap {
            columns: headers.iter().map(|h| self.field(h.as_ref())).collect(),
        };
        if !self.any_table && !map.has_identifying_field() {
            return Err(MappingError::NothingMapped {
                found: headers
                    .iter()
                    .map(|h| format!("{:?}", h.as_ref()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(map)
    }
}

/// Maps headers automatically, with `overrides` taking precedence.
pub fn map_headers(
    headers: &[String],
    overrides: &BTreeMap<String, String>,
) -> Result<ColumnMap, MappingError> {
    Mapper::new(overrides)?.map_headers(headers)
}

/// Makes header names usable as unique JSON keys: blank ones become `_col_N`, repeats get
/// `_2`, `_3`… (two "Телефон" columns are common in purchased lists).
pub fn unique_headers(headers: &[String]) -> Vec<std::sync::Arc<str>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let base = match h.trim() {
                "" => format!("_col_{}", i + 1),
                t => t.to_string(),
            };
            // Suffix until the name is free: "Телефон, Телефон, Телефон_2" must not clash.
            let mut n = *seen.get(&base).unwrap_or(&0);
            let mut name = base.clone();
            while seen.contains_key(&name) {
                n += 1;
                name = format!("{base}_{}", n + 1);
            }
            seen.insert(base, n);
            seen.insert(name.clone(), 0);
            std::sync::Arc::from(name.as_str())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn maps_russian_and_english_headers() {
        let map = map_headers(
            &hdrs(&[
                "ФИО",
                "Моб. телефон",
                "E-mail",
                "Организация",
                "Город",
                "ИНН",
                "Что-то",
            ]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            map.columns,
            vec![
                Some(Field::FullName),
                Some(Field::Phone),
                Some(Field::Email),
                Some(Field::Company),
                Some(Field::City),
                Some(Field::Inn),
                None
            ]
        );
        let map = map_headers(&hdrs(&["Name", "PHONE", "e_mail"]), &BTreeMap::new()).unwrap();
        assert_eq!(
            map.columns,
            vec![
                Some(Field::FullName),
                Some(Field::Phone),
                Some(Field::Email)
            ]
        );
    }

    #[test]
    fn split_name_columns_and_yo_folding() {
        let map = map_headers(
            &hdrs(&["Фамилия", "Имя", "Отчество", "Телефон"]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            map.columns,
            vec![
                Some(Field::LastName),
                Some(Field::FirstName),
                Some(Field::MiddleName),
                Some(Field::Phone)
            ]
        );
        assert_eq!(
            fold_header("Населённый пункт"),
            fold_header("населенный_пункт")
        );
    }

    #[test]
    fn overrides_win_and_can_ignore() {
        let mut o = BTreeMap::new();
        o.insert("Контакт".to_string(), "phone".to_string());
        o.insert("Телефон".to_string(), "ignore".to_string());
        let map = map_headers(&hdrs(&["Контакт", "Телефон"]), &o).unwrap();
        assert_eq!(map.columns, vec![Some(Field::Phone), None]);
        o.insert("Контакт".to_string(), "fone".to_string());
        assert!(matches!(
            map_headers(&hdrs(&["Контакт"]), &o),
            Err(MappingError::UnknownField { .. })
        ));
    }

    #[test]
    fn unique_headers_suffixes_repeats_and_blanks() {
        let got = unique_headers(&hdrs(&["Телефон", "", "Телефон", " Телефон "]));
        let got: Vec<&str> = got.iter().map(|s| &**s).collect();
        assert_eq!(got, vec!["Телефон", "_col_2", "Телефон_2", "Телефон_3"]);
        let got = unique_headers(&hdrs(&["Телефон", "Телефон", "Телефон_2"]));
        let set: std::collections::HashSet<&str> = got.iter().map(|s| &**s).collect();
        assert_eq!(set.len(), 3, "{got:?}");
        // Renamed repeats still map to their field.
        assert_eq!(Mapper::default().field("Телефон_2"), Some(Field::Phone));
        assert_eq!(
            Mapper::default().field("Моб. телефон_3"),
            Some(Field::Phone)
        );
    }

    #[test]
    fn unmappable_file_lists_headers() {
        let err = map_headers(&hdrs(&["a", "b"]), &BTreeMap::new()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"a\", \"b\""), "{msg}");
        assert!(msg.contains("Телефон"), "{msg}");
    }
}
