//! The run report and the review page in a real browser: headless Chromium loads them,
//! the charts must be in the rendered DOM, a lead search must find the lead, and
//! screenshots are saved next to the test binaries (target/…/tmp).
//!
//! Needs Chromium (Debian's `chromium` package; `.ci/run` installs it). Without it the test
//! says so and passes, unless LEADPIPE_REQUIRE_BROWSER=1 (set by `.ci/run`), when a
//! missing browser fails it.

mod common;

use common::{browser, dump_dom, root, screenshot_at};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn screenshot(chrome: &Path, url: &str, png: &Path) {
    screenshot_at(chrome, url, png, (1100, 1600));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn report_and_review_page_render_in_a_real_browser() {
    let Some(chrome) = browser() else {
        assert!(
            std::env::var("LEADPIPE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "LEADPIPE_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        eprintln!("browser test skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.duckdb");
    let bin = env!("CARGO_BIN_EXE_leadpipe");
    let ok = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "run",
        root().join("pipelines/demo.toml").to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    let report = dir.path().join("report.html");
    ok(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);

    // The report: every chart in the DOM with its bars, and a screenshot.
    let dom = dump_dom(&chrome, &format!("file://{}", report.display()));
    for chart in [
        "funnel",
        "rejects",
        "warmth-tiers",
        "warmth-histogram",
        "consent",
    ] {
        assert!(
            dom.contains(&format!("id=\"{chart}\"")),
            "chart {chart} missing"
        );
    }
    assert!(dom.matches("class=\"bar\"").count() >= 10, "bars rendered");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let png = shots.join("leadpipe-report.png");
    screenshot(&chrome, &format!("file://{}", report.display()), &png);
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "a real screenshot"
    );

    // The review page: search by a phone typed any way, open the lead.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(bin)
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = dump_dom(&chrome, &format!("{base}/search?q=8+(916)+123-45-67"));
    assert!(dom.contains("id=\"results\""), "{dom}");
    let lead: String = dom
        .split("href=\"/lead/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let dom = dump_dom(&chrome, &format!("{base}/lead/{lead}"));
    assert!(dom.contains("Иванов Иван Иванович"), "{dom}");
    assert!(dom.contains("Почему записи объединены"));
    assert!(dom.contains("галочка в форме"), "consent history shown");
    assert!(dom.contains("id=\"warmth\""));
    screenshot(
        &chrome,
        &format!("{base}/lead/{lead}"),
        &shots.join("leadpipe-lead.png"),
    );
    // A name search works too.
    let dom = dump_dom(&chrome, &format!("{base}/search?q=Петрова"));
    assert!(dom.contains("Петрова Мария Сергеевна"));
}

/// A decoded PNG: 8-bit RGB or RGBA, not interlaced (what Chromium writes).
struct Image {
    width: usize,
    height: usize,
    /// Bytes per pixel (3 or 4).
    bpp: usize,
    data: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Image {
        use std::io::Read;
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            &bytes[..8],
            b"\x89PNG\r\n\x1a\n",
            "{}: not a PNG",
            path.display()
        );
        let (mut width, mut height, mut bpp) = (0, 0, 0);
        let mut zipped = Vec::new();
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind = &bytes[at + 4..at + 8];
            let data = &bytes[at + 8..at + 8 + len];
            match kind {
                b"IHDR" => {
                    width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                    height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                    assert_eq!((data[8], data[12]), (8, 0), "8-bit, not interlaced");
                    bpp = match data[9] {
                        2 => 3,
                        6 => 4,
                        other => panic!("PNG colour type {other}"),
                    };
                }
                b"IDAT" => zipped.extend_from_slice(data),
                _ => {}
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&zipped[..])
            .read_to_end(&mut raw)
            .unwrap();
        Image {
            width,
            height,
            bpp,
            data: unfilter(&raw, width * bpp, height, bpp),
        }
    }

    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * self.bpp;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// PNG scanlines without their filters (None, Sub, Up, Average, Paeth).
fn unfilter(raw: &[u8], stride: usize, height: usize, bpp: usize) -> Vec<u8> {
    let mut out = vec![0u8; stride * height];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= bpp {
                out[y * stride + x - bpp]
            } else {
                0
            } as i16;
            let b = if y > 0 { out[(y - 1) * stride + x] } else { 0 } as i16;
            let c = if x >= bpp && y > 0 {
                out[(y - 1) * stride + x - bpp]
            } else {
                0
            } as i16;
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            out[y * stride + x] = line[x].wrapping_add(predicted as u8);
        }
    }
    out
}

const WHITE: [u8; 3] = [255, 255, 255];

/// What a screenshot of a review page must show: the window's size, the header bar across
/// the top, text, and (on a white row) nothing in the last pixels on the right: nothing is
/// wider than the window, so the page never scrolls sideways.
fn check_screenshot(png: &Path, (width, height): (u32, u32)) {
    let img = Image::read(png);
    let name = png.display();
    assert_eq!(
        (img.width, img.height),
        (width as usize, height as usize),
        "{name}"
    );
    let bar = img.rgb(2, 2);
    assert!(
        bar.iter().all(|&c| c < 100),
        "{name}: no dark header bar, {bar:?}"
    );
    let dark = (0..img.height)
        .flat_map(|y| (0..img.width).map(move |x| (x, y)))
        .filter(|&(x, y)| img.rgb(x, y) != bar && img.rgb(x, y).iter().all(|&c| c < 110))
        .count();
    assert!(dark > 400, "{name}: hardly any text ({dark} dark pixels)");
    for y in 0..img.height {
        if img.rgb(0, y) != WHITE {
            continue;
        }
        for x in img.width - 6..img.width {
            assert_eq!(
                img.rgb(x, y),
                WHITE,
                "{name}: something reaches the right edge at ({x}, {y}): the page is wider than the window"
            );
        }
    }
}

#[test]
fn review_pages_fit_desktop_and_phone_widths() {
    let Some(chrome) = browser() else {
        assert!(
            std::env::var("LEADPIPE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "LEADPIPE_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        eprintln!("browser test skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.duckdb");
    let bin = env!("CARGO_BIN_EXE_leadpipe");
    let out = Command::new(bin)
        .args(["run", root().join("pipelines/demo.toml").to_str().unwrap()])
        .args(["--db", db.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(bin)
            .args(["serve", "--db", db.to_str().unwrap()])
            .args(["--port", &port.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The lead the demo's first person became.
    let dom = dump_dom(&chrome, &format!("{base}/search?q=ivanov%40"));
    let lead: String = dom
        .split("href=\"/lead/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no lead found: {dom}"))
        .to_string();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let pages = [
        ("home", "/".to_string()),
        // Several results, with long addresses and more than one number.
        (
            "search",
            "/search?q=%D0%BC%D0%BE%D1%81%D0%BA%D0%B2%D0%B0".to_string(),
        ),
        ("lead", format!("/lead/{lead}")),
    ];
    for (name, path) in &pages {
        for (device, size) in [("desktop", (1280, 800)), ("phone", (390, 844))] {
            let png = shots.join(format!("leadpipe-serve-{name}-{device}.png"));
            screenshot_at(&chrome, &format!("{base}{path}"), &png, size);
            check_screenshot(&png, size);
        }
    }
    // The whole lead page on a phone: the wide tables lower down fit too.
    let png = shots.join("leadpipe-serve-lead-phone-long.png");
    screenshot_at(&chrome, &format!("{base}/lead/{lead}"), &png, (390, 3200));
    check_screenshot(&png, (390, 3200));
}
