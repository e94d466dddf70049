//! Extraction speed over saved directory pages (issue: 10,000 pages in ≤ 10 s).
//!     cargo run --release --example bench_html [PAGES]
//! Writes PAGES synthetic catalogue pages (10 company cards each, ~9 KB, contacts in
//! selectors and in free text) to a temporary folder, then times reading and extracting
//! them with the same code the `html` source uses.

use leadpipe::record::Origin;
use leadpipe::sources::html::HtmlRules;
use leadpipe::sources::{self, SourceKind, SourceSpec};
use std::io::Write;
use std::time::Instant;

fn main() {
    let pages: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile_dir();
    let t = Instant::now();
    for p in 0..pages {
        let mut html = String::from(
            "<!doctype html><html><head><meta charset=utf-8><title>Каталог</title></head><body><nav>Главная · Каталог · Контакты</nav>",
        );
        for c in 0..10 {
            let n = p * 10 + c;
            html.push_str(&format!(
                "<div class=\"company\"><h2 class=\"company-name\">ООО «Компания {n}»</h2>\
                 <p class=\"address\">г. Москва, ул. Примерная, д. {c}</p><p class=\"city\">Москва</p>\
                 <p>Отдел продаж: <span class=\"phone\">8 (495) {:03}-{:02}-{:02}</span>, \
                 директор: +7 916 {:03} {:02} {:02}</p>\
                 <p>Пишите: <a class=\"email\" href=\"mailto:info{n}@company{n}.ru\">info{n}@company{n}.ru</a></p>\
                 <p>Работаем с 2005 года. Доставка по всей России, гарантия качества, \
                 собственное производство и склад.</p></div>",
                100 + n % 900, n % 100, (n / 100) % 100,
                100 + (n * 7) % 900, (n * 3) % 100, (n / 7) % 100
            ));
        }
        html.push_str("<footer>© 2026</footer></body></html>");
        let mut f = std::fs::File::create(dir.join(format!("page-{p:06}.html"))).unwrap();
        f.write_all(html.as_bytes()).unwrap();
    }
    eprintln!("wrote {pages} pages in {:.1} s", t.elapsed().as_secs_f64());
    let rules: HtmlRules = toml::from_str(
        r#"item = ".company"
[fields]
company = ".company-name"
phone = ".phone"
email = ".email"
address = ".address"
city = ".city"
"#,
    )
    .unwrap();
    let spec = SourceSpec {
        name: "bench".into(),
        kind: SourceKind::Html,
        path: dir.clone(),
        origin: Origin::Open,
        encoding: None,
        delimiter: None,
        sheet: None,
        columns: Default::default(),
        html: Some(rules),
        fetch: None,
    };
    let t = Instant::now();
    let opened = sources::open(&spec).unwrap();
    let rows: Vec<_> = opened.rows.collect();
    let secs = t.elapsed().as_secs_f64();
    let with_phone = rows
        .iter()
        .filter(|r| {
            r.cells
                .iter()
                .any(|c| &*c.key == "_text_phones" && !c.value.is_empty())
        })
        .count();
    println!(
        "extracted {} rows from {pages} pages in {secs:.2} s ({:.0} pages/s); {with_phone} rows with numbers found in free text",
        rows.len(),
        pages as f64 / secs
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("leadpipe-bench-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
