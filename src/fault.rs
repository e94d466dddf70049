//! Crash tests stop the binary at a named point and `kill -9` it there: with
//! `LEADPIPE_TEST_PAUSE_AT=<point>` the process says `paused at <point>` on stderr and
//! sleeps. Unset (always, outside tests) this is one environment lookup.

/// Pauses here when a crash test asked for this point.
pub fn pause_at(point: &str) {
    if std::env::var("LEADPIPE_TEST_PAUSE_AT").as_deref() == Ok(point) {
        eprintln!("leadpipe: paused at {point}");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
