//! How often does the `phonenumber` crate disagree with libphonenumber on the oracle cases
//! that leadpipe's normaliser (rlibphonenumber) matches exactly?

fn main() {
    let text = include_str!("../../../tests/data/phone_oracle.tsv");
    let (mut total, mut wrong, mut toll_free, mut wrong_toll_free) = (0, 0, 0, 0);
    let mut examples = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let mut parts = line.split('\t');
        let (Some(input), Some(valid), e164) = (parts.next(), parts.next(), parts.next().unwrap_or(""))
        else {
            continue;
        };
        let expected = (valid == "1", e164.to_string());
        let got = match phonenumber::parse(Some(phonenumber::country::Id::RU), input) {
            Ok(n) if phonenumber::is_valid(&n) => {
                (true, n.format().mode(phonenumber::Mode::E164).to_string())
            }
            _ => (false, String::new()),
        };
        total += 1;
        let is_toll_free = e164.starts_with("+7800");
        toll_free += is_toll_free as usize;
        if got != expected {
            wrong += 1;
            wrong_toll_free += is_toll_free as usize;
            if examples.len() < 5 {
                examples.push(format!("{input:?} -> {got:?}, libphonenumber {e164:?}"));
            }
        }
    }
    println!(
        "phonenumber crate: {wrong} of {total} cases disagree with libphonenumber; 8-800: {wrong_toll_free} of {toll_free} wrong"
    );
    for e in examples {
        println!("  {e}");
    }
}
