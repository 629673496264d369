//! Text helpers that keep rendered values inside Discord's limits.

use chrono::{DateTime, TimeDelta, Utc};

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Joins lines with newlines, stopping before the result would pass `max`
/// characters; a final `…and N more` line says what was left out.
pub fn fit_lines(lines: &[String], max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for (index, line) in lines.iter().enumerate() {
        let separator = if out.is_empty() { "" } else { "\n" };
        let left_after = lines.len() - index - 1;
        // Room for this line and, if more follow, for the "…and N more" line.
        let tail = if left_after > 0 {
            format!("\n…and {left_after} more").chars().count()
        } else {
            0
        };
        let line_chars = separator.len() + line.chars().count();
        if used + line_chars + tail > max {
            let more = format!("{separator}…and {} more", lines.len() - index);
            if used + more.chars().count() <= max {
                out.push_str(&more);
            }
            return out;
        }
        out.push_str(separator);
        out.push_str(line);
        used += line_chars;
    }
    out
}

/// A name someone else chose (a server's), as bold message text cut to `max`
/// characters: its own markdown and mentions are defused.
pub fn bold_name(name: &str, max: usize) -> String {
    serenity::all::MessageBuilder::new()
        .push_bold_safe(truncate(name, max))
        .build()
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration as `3d 4h 12m` (seconds only below a minute).
pub fn human_duration(duration: TimeDelta) -> String {
    let total = duration.num_seconds().max(0);
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3_600,
        total % 3_600 / 60,
        total % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h {minutes}m"),
    }
}

/// Discord timestamp markup, shown in each reader's own time zone.
/// `style`: `R` relative, `f` date and time, `F` long, `d` date.
pub fn discord_time(at: DateTime<Utc>, style: char) -> String {
    format!("<t:{}:{style}>", at.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_text_and_marks_cuts() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ééééé", 4).chars().count(), 4);
    }

    #[test]
    fn fit_lines_never_passes_the_limit_and_says_what_it_left_out() {
        let lines: Vec<String> = (0..100).map(|i| format!("line number {i:03}")).collect();
        let text = fit_lines(&lines, 200);
        assert!(text.chars().count() <= 200, "{}", text.chars().count());
        assert!(text.ends_with("more"), "{text}");
        assert_eq!(
            fit_lines(&lines[..2], 200),
            "line number 000\nline number 001"
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(TimeDelta::seconds(42)), "42s");
        assert_eq!(
            human_duration(TimeDelta::seconds(3 * 86_400 + 4 * 3600 + 12 * 60)),
            "3d 4h 12m"
        );
        assert_eq!(human_duration(TimeDelta::seconds(3700)), "1h 1m");
    }
}
