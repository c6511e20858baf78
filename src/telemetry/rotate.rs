//! [`RotatingFile`]: a log file rotated by time (`log_rotation`) and by size (`log_max_size`).
//!
//! `tracing-appender` rotates by time only, so this small writer does both: before a write, the
//! current file is renamed to `NAME.STAMP.N` when a new UTC day (`daily`) or hour (`hourly`)
//! has begun since it was last written, or when the write would take it past `max_size`; a new
//! file is then started under the configured name. `STAMP` is the period the archived lines
//! belong to (`2026-11-28` or `2026-11-28-17`; the rotation's day for `never`), `N` counts from
//! 1 so no archive is ever overwritten. A log line is never split across two files. After each
//! rotation the oldest archives beyond `log_max_files` are deleted ([`RotatingFile::keep`]; 0, the
//! writer's own default, keeps them all).
//!
//! The writer does blocking file I/O; wrap it in `tracing_appender::non_blocking` (as
//! [`init_logging`](super::init_logging) does) so it runs on its own thread.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::level::LogRotation;
use super::retention;

/// The time source of a [`RotatingFile`] (the system clock in production, a fake in tests).
pub type Clock = Box<dyn Fn() -> SystemTime + Send>;

/// A log file rotated by time and by size: the current file is renamed `NAME.STAMP.N` when a
/// new UTC day or hour begins (`log_rotation`) or when a write would take it past `max_size`.
pub struct RotatingFile {
    path: PathBuf,
    rotation: LogRotation,
    max_size: u64,
    /// Archives kept after a rotation (0: all).
    max_files: usize,
    clock: Clock,
    file: File,
    size: u64,
    /// The rotation period (days or hours since the epoch) of the lines in the current file.
    period: u64,
}

impl fmt::Debug for RotatingFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingFile")
            .field("path", &self.path)
            .field("rotation", &self.rotation)
            .field("max_size", &self.max_size)
            .field("max_files", &self.max_files)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl RotatingFile {
    /// Opens (appending) or creates `path`, creating its directory if needed. `max_size` 0
    /// turns size rotation off.
    ///
    /// # Errors
    /// When the directory or the file cannot be created or opened.
    pub fn open(path: &Path, rotation: LogRotation, max_size: u64) -> io::Result<Self> {
        Self::with_clock(path, rotation, max_size, Box::new(SystemTime::now))
    }

    /// As [`RotatingFile::open`], with the given clock.
    ///
    /// # Errors
    /// As [`RotatingFile::open`].
    pub fn with_clock(
        path: &Path,
        rotation: LogRotation,
        max_size: u64,
        clock: Clock,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(path)?;
        let metadata = file.metadata()?;
        // An existing file's lines belong to the period it was last written in.
        let written = metadata
            .modified()
            .ok()
            .filter(|_| metadata.len() > 0)
            .unwrap_or_else(&clock);
        Ok(Self {
            path: path.to_path_buf(),
            rotation,
            max_size,
            max_files: 0,
            period: period_of(rotation, written),
            file,
            size: metadata.len(),
            clock,
        })
    }

    /// Keeps at most `max_files` archives: after each rotation the oldest beyond that are
    /// deleted (`log_max_files`; 0 keeps all).
    #[must_use]
    pub fn keep(mut self, max_files: usize) -> Self {
        self.max_files = max_files;
        self
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the current file to its archive name and starts a new one.
    fn rotate(&mut self, now_period: u64, now: SystemTime) -> io::Result<()> {
        self.file.flush()?;
        let stamp = match self.rotation {
            LogRotation::Daily => day_stamp(self.period),
            LogRotation::Hourly => hour_stamp(self.period),
            LogRotation::Never => day_stamp(period_of(LogRotation::Daily, now)),
        };
        let archive = self.free_archive_name(&stamp);
        std::fs::rename(&self.path, &archive)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        self.period = now_period;
        // A failure to list or delete keeps the archives (the log itself goes on).
        let _ = retention::prune(&self.path, self.max_files);
        Ok(())
    }

    /// `NAME.STAMP.N` with the smallest `N` not taken.
    fn free_archive_name(&self, stamp: &str) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "genhook.log".to_owned());
        let mut n: u32 = 1;
        loop {
            let candidate = self.path.with_file_name(format!("{name}.{stamp}.{n}"));
            if !candidate.exists() || n == u32::MAX {
                return candidate;
            }
            n += 1;
        }
    }
}

impl Write for RotatingFile {
    /// Writes the whole buffer (one formatted log line) to one file, rotating first if due.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let now = (self.clock)();
        let now_period = period_of(self.rotation, now);
        let new_period = self.rotation != LogRotation::Never && now_period != self.period;
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let too_big =
            self.max_size > 0 && self.size > 0 && self.size.saturating_add(len) > self.max_size;
        if self.size > 0 && (new_period || too_big) {
            // When the rename fails (e.g. a read-only directory), keep appending to the current
            // file rather than lose the line; the next write tries again.
            let _ = self.rotate(now_period, now);
        } else if new_period {
            self.period = now_period;
        }
        self.file.write_all(buf)?;
        self.size = self.size.saturating_add(len);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Opens `path` for appending, creating it.
fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The rotation period of `time`: days since the epoch (daily, never) or hours (hourly).
fn period_of(rotation: LogRotation, time: SystemTime) -> u64 {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match rotation {
        LogRotation::Hourly => seconds / 3600,
        LogRotation::Daily | LogRotation::Never => seconds / 86_400,
    }
}

/// `YYYY-MM-DD` of a day since the epoch.
fn day_stamp(day: u64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD-HH` of an hour since the epoch.
fn hour_stamp(hour: u64) -> String {
    format!("{}-{:02}", day_stamp(hour / 24), hour % 24)
}

/// The proleptic Gregorian date of a day since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(day: u64) -> (u64, u64, u64) {
    let z = day + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// 2026-11-28 17:30:00 UTC.
    const START: u64 = 1_795_887_000;

    /// A clock at `START + offset seconds`, the offset shared with the test.
    fn fake_clock() -> (Clock, Arc<AtomicU64>) {
        let offset = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&offset);
        let clock: Clock =
            Box::new(move || UNIX_EPOCH + Duration::from_secs(START + seen.load(Ordering::SeqCst)));
        (clock, offset)
    }

    /// The file names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(day_stamp(0), "1970-01-01");
        assert_eq!(day_stamp(START / 86_400), "2026-11-28");
        assert_eq!(hour_stamp(START / 3600), "2026-11-28-17");
        assert_eq!(day_stamp(11_016), "2000-02-29");
        assert_eq!(day_stamp(11_017), "2000-03-01");
        assert_eq!(day_stamp(19_722), "2023-12-31");
    }

    #[test]
    fn rotates_by_size_without_splitting_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("genhook.log");
        let (clock, _) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Never, 10, clock).unwrap();
        file.write_all(b"aaaa\n").unwrap();
        file.write_all(b"bbbb\n").unwrap(); // exactly 10 bytes: still one file
        file.write_all(b"cccc\n").unwrap(); // would make 15: rotate first
        file.write_all(b"a line longer than the limit\n").unwrap(); // rotate, then write it whole
        file.flush().unwrap();
        let logs = path.parent().unwrap();
        assert_eq!(
            names(logs),
            vec![
                "genhook.log",
                "genhook.log.2026-11-28.1",
                "genhook.log.2026-11-28.2"
            ]
        );
        assert_eq!(read(&logs.join("genhook.log.2026-11-28.1")), "aaaa\nbbbb\n");
        assert_eq!(read(&logs.join("genhook.log.2026-11-28.2")), "cccc\n");
        assert_eq!(read(&path), "a line longer than the limit\n");
    }

    #[test]
    fn rotates_daily_at_midnight_utc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        let (clock, offset) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Daily, 0, clock).unwrap();
        file.write_all(b"day one\n").unwrap();
        offset.store(3 * 3600, Ordering::SeqCst); // 20:30: same day
        file.write_all(b"day one later\n").unwrap();
        offset.store(7 * 3600, Ordering::SeqCst); // 00:30 the next day
        file.write_all(b"day two\n").unwrap();
        assert_eq!(
            names(dir.path()),
            vec!["genhook.log", "genhook.log.2026-11-28.1"]
        );
        assert_eq!(
            read(&dir.path().join("genhook.log.2026-11-28.1")),
            "day one\nday one later\n"
        );
        assert_eq!(read(&path), "day two\n");
    }

    #[test]
    fn rotates_hourly_and_never_overwrites_an_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        std::fs::write(dir.path().join("genhook.log.2026-11-28-17.1"), "older").unwrap();
        let (clock, offset) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Hourly, 0, clock).unwrap();
        file.write_all(b"17h\n").unwrap();
        offset.store(20 * 60, Ordering::SeqCst); // 17:50
        file.write_all(b"17h50\n").unwrap();
        offset.store(45 * 60, Ordering::SeqCst); // 18:15
        file.write_all(b"18h\n").unwrap();
        assert_eq!(
            names(dir.path()),
            vec![
                "genhook.log",
                "genhook.log.2026-11-28-17.1",
                "genhook.log.2026-11-28-17.2"
            ]
        );
        assert_eq!(
            read(&dir.path().join("genhook.log.2026-11-28-17.1")),
            "older"
        );
        assert_eq!(
            read(&dir.path().join("genhook.log.2026-11-28-17.2")),
            "17h\n17h50\n"
        );
        assert_eq!(read(&path), "18h\n");
    }

    #[test]
    fn at_each_rotation_only_the_newest_max_files_archives_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        std::fs::write(dir.path().join("unrelated.txt"), "mine").unwrap();
        let (clock, offset) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Daily, 0, clock)
            .unwrap()
            .keep(2);
        for day in 0..5u64 {
            offset.store(day * 86_400, Ordering::SeqCst);
            file.write_all(format!("day {day}\n").as_bytes()).unwrap();
        }
        assert_eq!(
            names(dir.path()),
            vec![
                "genhook.log",
                "genhook.log.2026-11-30.1",
                "genhook.log.2026-12-01.1",
                "unrelated.txt"
            ]
        );
        assert_eq!(
            read(&dir.path().join("genhook.log.2026-12-01.1")),
            "day 3\n"
        );
        assert_eq!(read(&path), "day 4\n");
    }

    #[test]
    fn without_max_files_every_archive_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        let (clock, offset) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Daily, 0, clock).unwrap();
        for day in 0..5u64 {
            offset.store(day * 86_400, Ordering::SeqCst);
            file.write_all(b"line\n").unwrap();
        }
        assert_eq!(names(dir.path()).len(), 5);
    }

    #[test]
    fn never_rotates_by_time_and_appends_to_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        std::fs::write(&path, "before\n").unwrap();
        let (clock, offset) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Never, 0, clock).unwrap();
        file.write_all(b"now\n").unwrap();
        offset.store(40 * 86_400, Ordering::SeqCst);
        file.write_all(b"weeks later\n").unwrap();
        assert_eq!(names(dir.path()), vec!["genhook.log"]);
        assert_eq!(read(&path), "before\nnow\nweeks later\n");
    }

    #[test]
    fn an_existing_file_from_an_earlier_day_is_rotated_on_the_first_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        std::fs::write(&path, "yesterday\n").unwrap();
        let old = UNIX_EPOCH + Duration::from_secs(START - 86_400);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let (clock, _) = fake_clock();
        let mut file = RotatingFile::with_clock(&path, LogRotation::Daily, 0, clock).unwrap();
        file.write_all(b"today\n").unwrap();
        assert_eq!(
            read(&dir.path().join("genhook.log.2026-11-27.1")),
            "yesterday\n"
        );
        assert_eq!(read(&path), "today\n");
    }
}
