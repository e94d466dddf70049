//! Fault tests stop the binary at a named point, to `kill -9` it there or to change its
//! input under it: with `LEADPIPE_TEST_PAUSE_AT=<point>` the process says `paused at
//! <point>` on stderr and waits up to a minute, or until the file named by
//! `LEADPIPE_TEST_RESUME_FILE` exists. Unset (always, outside tests) this is one
//! environment lookup.

/// Pauses here when a fault test asked for this point.
pub fn pause_at(point: &str) {
    if std::env::var("LEADPIPE_TEST_PAUSE_AT").as_deref() != Ok(point) {
        return;
    }
    eprintln!("leadpipe: paused at {point}");
    let resume = std::env::var_os("LEADPIPE_TEST_RESUME_FILE");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < until {
        if resume
            .as_ref()
            .is_some_and(|f| std::path::Path::new(f).exists())
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
