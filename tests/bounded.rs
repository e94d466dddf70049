//! Bounded input through the real binary: what is not a regular file is refused at once,
//! and hostile sizes (an XLSX zip bomb, a 50 MB CSV field) cost a bounded peak memory,
//! measured as the child's own peak RSS (`wait4`).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of the binary gave: exit code, output, peak RSS in MB.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_mb: u64,
    elapsed: Duration,
}

/// Runs leadpipe, killing it after `limit` (a hang is a failure, not a stuck test), and
/// reads its peak RSS from the kernel's accounting of that one child.
// The child is reaped by `wait4` (which gives its own rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str], limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child, with valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed");
        if started.elapsed() > limit {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("leadpipe {args:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Run {
        code,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
        // ru_maxrss is in KiB on Linux.
        peak_mb: usage.ru_maxrss as u64 / 1024,
        elapsed: started.elapsed(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(s(path)).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn what_is_not_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.duckdb");
    let fifo = dir.path().join("f.csv");
    mkfifo(&fifo);
    let folder = dir.path().join("folder.csv");
    std::fs::create_dir(&folder).unwrap();
    let limit = Duration::from_secs(20);
    for (path, what) in [
        ("/dev/zero", "character device"),
        (s(&fifo), "named pipe"),
        (s(&folder), "directory"),
    ] {
        let r = run(&["import", path, "--kind", "csv", "--db", s(&db)], limit);
        assert_eq!(r.code, Some(65), "{path}: {}", r.stderr);
        assert!(
            r.stderr.contains(path) && r.stderr.contains(what),
            "{path}: {}",
            r.stderr
        );
        assert!(r.peak_mb < 150, "{path}: peak RSS {} MB", r.peak_mb);
    }
    for kind in ["jsonl", "xlsx"] {
        let r = run(
            &["import", "/dev/zero", "--kind", kind, "--db", s(&db)],
            limit,
        );
        assert_eq!(r.code, Some(65), "{kind}: {}", r.stderr);
        assert!(r.stderr.contains("character device"), "{}", r.stderr);
    }

    // A pipeline source and a saved-pages source.
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "[[sources]]\nname = \"rand\"\nkind = \"csv\"\npath = \"/dev/urandom\"\norigin = \"purchased\"\n",
    )
    .unwrap();
    let r = run(&["run", s(&pipeline), "--db", s(&db)], limit);
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("/dev/urandom") && r.stderr.contains("character device"),
        "{}",
        r.stderr
    );
    // The pipeline file itself.
    for (path, what) in [("/dev/zero", "character device"), (s(&fifo), "named pipe")] {
        let r = run(&["run", path, "--db", s(&db)], limit);
        assert_eq!(r.code, Some(65), "{path}: {}", r.stderr);
        assert!(r.stderr.contains(what), "{path}: {}", r.stderr);
        assert!(r.peak_mb < 150, "{path}: peak RSS {} MB", r.peak_mb);
    }
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    mkfifo(&pages.join("a.html"));
    let r = run(
        &["import", s(&pages), "--kind", "html", "--db", s(&db)],
        limit,
    );
    assert_eq!(r.code, Some(65), "{}", r.stderr);
    assert!(
        r.stderr.contains("a.html") && r.stderr.contains("named pipe"),
        "{}",
        r.stderr
    );

    // A contact list (suppression import reads it with the same reader).
    let r = run(
        &[
            "suppress",
            "import",
            s(&fifo),
            "--list",
            "dnc",
            "--db",
            s(&db),
        ],
        limit,
    );
    assert_eq!(r.code, Some(65), "{}", r.stderr);
    assert!(r.stderr.contains("named pipe"), "{}", r.stderr);
}

/// A minimal workbook whose first sheet is `sheet_xml`, written as a stream (the XML is
/// never whole in memory: `write_sheet` writes it in pieces).
fn workbook(path: &Path, write_sheet: impl Fn(&mut dyn Write)) {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let parts: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    write_sheet(&mut zip);
    zip.finish().unwrap();
}

const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>ФИО</t></is></c><c r="B1" t="inlineStr"><is><t>Телефон</t></is></c></row>"#;
const SHEET_END: &str = r#"<row r="3"><c r="A3" t="inlineStr"><is><t>Иванов Иван</t></is></c><c r="B3" t="inlineStr"><is><t>89161234567</t></is></c></row></sheetData></worksheet>"#;

/// A row whose name cell holds `mb` megabytes, written a megabyte at a time.
fn huge_cell_sheet(mb: usize) -> impl Fn(&mut dyn Write) {
    move |w: &mut dyn Write| {
        w.write_all(SHEET_START.as_bytes()).unwrap();
        w.write_all(br#"<row r="2"><c r="A2" t="inlineStr"><is><t>"#)
            .unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..mb {
            w.write_all(&block).unwrap();
        }
        w.write_all(
            br#"</t></is></c><c r="B2" t="inlineStr"><is><t>89161234568</t></is></c></row>"#,
        )
        .unwrap();
        w.write_all(SHEET_END.as_bytes()).unwrap();
    }
}

#[test]
fn xlsx_zip_bomb_is_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.duckdb");
    // 300 MB of sheet XML in a file of a few hundred KB: past the 256 MB limit.
    let bomb = dir.path().join("bomb.xlsx");
    workbook(&bomb, huge_cell_sheet(300));
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 4 << 20, "the bomb is {size} bytes");
    let r = run(
        &["import", s(&bomb), "--db", s(&db)],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(65), "{}", r.stderr);
    assert!(
        r.stderr.contains("bomb.xlsx")
            && r.stderr.contains("inflates past 256 MB")
            && r.stderr.contains("xl/worksheets/sheet1.xml"),
        "{}",
        r.stderr
    );
    assert!(
        r.peak_mb < 150,
        "peak RSS {} MB for a refused bomb",
        r.peak_mb
    );
    eprintln!(
        "XLSX bomb: refused in {:?}, peak RSS {} MB",
        r.elapsed, r.peak_mb
    );

    // Under the limit, a 20 MB cell is a rejected row; the rows around it land.
    let big = dir.path().join("big.xlsx");
    workbook(&big, huge_cell_sheet(20));
    let r = run(
        &["import", s(&big), "--db", s(&db), "--json"],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (
            summary["rows_read"].as_i64(),
            summary["rows_accepted"].as_i64(),
            summary["rows_rejected"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "{}",
        r.stdout
    );
    let conn = duckdb::Connection::open(&db).unwrap();
    let (code, field, reason): (String, String, String) = conn
        .query_row(
            "SELECT reason_code, field, reason FROM rejects WHERE source = 'big.xlsx'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((code.as_str(), field.as_str()), ("field_too_long", "ФИО"));
    assert!(reason.contains("20971520 bytes long"), "{reason}");
    assert!(
        r.peak_mb < 250,
        "peak RSS {} MB for a 20 MB cell",
        r.peak_mb
    );
    eprintln!(
        "XLSX 20 MB cell: {:?}, peak RSS {} MB",
        r.elapsed, r.peak_mb
    );
}

#[test]
fn csv_field_of_50_mb_is_a_rejected_row_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.duckdb");
    let path = dir.path().join("huge.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all("ФИО;Телефон\nПетров Пётр;89161234560\n\"".as_bytes())
            .unwrap();
        let block = "я\n".repeat(1 << 18); // 768 KiB, with newlines inside the quotes
        for _ in 0..(50 << 20) / block.len() + 1 {
            f.write_all(block.as_bytes()).unwrap();
        }
        f.write_all("\";89161234568\nИванов Иван;89161234567\n".as_bytes())
            .unwrap();
    }
    let r = run(
        &["import", s(&path), "--db", s(&db), "--json"],
        Duration::from_secs(120),
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (
            summary["rows_read"].as_i64(),
            summary["rows_accepted"].as_i64(),
            summary["rows_rejected"].as_i64()
        ),
        (Some(3), Some(2), Some(1)),
        "{}",
        r.stdout
    );
    let conn = duckdb::Connection::open(&db).unwrap();
    let (row, code, field): (i64, String, String) = conn
        .query_row(
            "SELECT source_row, reason_code, field FROM rejects WHERE source = 'huge.csv'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (row, code.as_str(), field.as_str()),
        (2, "field_too_long", "ФИО")
    );
    // The row after the 50 MB field keeps its true number.
    let last: i64 = conn
        .query_row(
            "SELECT max(source_row) FROM raw_records WHERE source = 'huge.csv'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(last, 3);
    assert!(
        r.peak_mb < 200,
        "peak RSS {} MB for a 50 MB field",
        r.peak_mb
    );
    eprintln!(
        "CSV 50 MB field: {:?}, peak RSS {} MB",
        r.elapsed, r.peak_mb
    );
}

/// One stray cell in the last column (XFD) must not make every row 16,384 cells wide.
#[test]
fn xlsx_with_a_stray_cell_in_the_last_column_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.duckdb");
    let book = dir.path().join("wide.xlsx");
    workbook(&book, |w: &mut dyn Write| {
        let head = SHEET_START.split("<sheetData>").next().unwrap();
        write!(w, "{head}<sheetData>").unwrap();
        w.write_all(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>ФИО</t></is></c><c r="B1" t="inlineStr"><is><t>Телефон</t></is></c><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>"#.as_bytes(),
        )
        .unwrap();
        for i in 2..3002 {
            write!(
                w,
                r#"<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>Иванов {i}</t></is></c><c r="B{i}" t="inlineStr"><is><t>8916{i:07}</t></is></c></row>"#
            )
            .unwrap();
        }
        w.write_all(b"</sheetData></worksheet>").unwrap();
    });
    let r = run(
        &["import", s(&book), "--db", s(&db)],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.peak_mb < 400, "peak RSS {} MB", r.peak_mb);
    eprintln!("stray XFD cell: {:?}, peak RSS {} MB", r.elapsed, r.peak_mb);
}
