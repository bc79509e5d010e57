//! The trace formats, told apart by their first line, and their readers.
//!
//! - `azure`: CSV `TIMESTAMP,ContextTokens,GeneratedTokens` (the Azure LLM inference traces,
//!   2023 and 2024); the time a date, `2023-11-16 18:15:46.6805900`, with `T` for the space,
//!   `Z` or an offset `+00:00` accepted.
//! - `burstgpt`: CSV `Timestamp,Session ID,Elapsed time,Model,Request tokens,Response
//!   tokens,Total tokens,Log Type`; `Timestamp` in seconds from the trace's start.
//! - `mooncake`: JSON Lines, `{"timestamp": ms from the start, "input_length": …,
//!   "output_length": …, "hash_ids": […]}`; the block ids kept as prompt blocks.
//!
//! CSV columns are found by their header name (in any order, any case; other columns are
//! ignored). Rows with no prompt or no output tokens — BurstGPT's failed requests have 0
//! response tokens — are left out and counted.

use super::{BadRows, Columns, PromptBlocks, RowCounts, Trace};
use crate::error::InputError;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

/// A trace file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    /// The Azure LLM inference trace CSV.
    Azure,
    /// The BurstGPT CSV.
    Burstgpt,
    /// The Mooncake JSON Lines trace.
    Mooncake,
}

impl TraceFormat {
    /// Every format, as named in scenarios and on the command line.
    pub const ALL: [TraceFormat; 3] = [
        TraceFormat::Azure,
        TraceFormat::Burstgpt,
        TraceFormat::Mooncake,
    ];

    /// The name scenarios use: `azure`, `burstgpt`, `mooncake`.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Azure => "azure",
            TraceFormat::Burstgpt => "burstgpt",
            TraceFormat::Mooncake => "mooncake",
        }
    }

    /// Tokens of one prompt block of its block ids, for a format that has them: Mooncake
    /// hashes prompts in blocks of 512 tokens (Qin et al., *Mooncake*, FAST 2025, and the
    /// trace's README).
    pub fn prompt_block_tokens(self) -> Option<u32> {
        match self {
            TraceFormat::Mooncake => Some(512),
            TraceFormat::Azure | TraceFormat::Burstgpt => None,
        }
    }

    /// The columns (CSV) or keys (JSON) of its time, prompt and output.
    fn columns(self) -> [&'static str; 3] {
        match self {
            TraceFormat::Azure => ["TIMESTAMP", "ContextTokens", "GeneratedTokens"],
            TraceFormat::Burstgpt => ["Timestamp", "Request tokens", "Response tokens"],
            TraceFormat::Mooncake => ["timestamp", "input_length", "output_length"],
        }
    }

    /// The format whose header or first object `first_line` is.
    pub fn detect(first_line: &str) -> Option<TraceFormat> {
        let line = first_line.trim_start_matches('\u{feff}').trim();
        if line.starts_with('{') {
            return Some(TraceFormat::Mooncake);
        }
        let header: Vec<String> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_lowercase())
            .collect();
        let has_all = |format: TraceFormat| {
            format
                .columns()
                .iter()
                .all(|c| header.contains(&c.to_lowercase()))
        };
        [TraceFormat::Azure, TraceFormat::Burstgpt]
            .into_iter()
            .find(|f| has_all(*f))
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<TraceFormat, String> {
        TraceFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("expected azure, burstgpt or mooncake, got `{text}`"))
    }
}

/// A row that cannot be read: where, which column, and what was wrong.
#[derive(Debug)]
struct BadRow {
    line: usize,
    column: usize,
    field: Option<String>,
    message: String,
}

/// Collects a trace's rows, stopping at or counting the bad ones.
struct Reader<'a> {
    path: &'a Path,
    bad_rows: BadRows,
    columns: Columns,
    rows: RowCounts,
}

impl Reader<'_> {
    /// A row's request: left out when it has no prompt or no output tokens.
    fn push(&mut self, time_s: f64, prompt: u32, output: u32) -> bool {
        if prompt == 0 || output == 0 {
            self.rows.empty += 1;
            return false;
        }
        self.columns.times_s.push(time_s);
        self.columns.prompt_tokens.push(prompt);
        self.columns.output_tokens.push(output);
        self.rows.requests += 1;
        true
    }

    /// A bad row: an error, or counted.
    fn bad(&mut self, row: BadRow) -> Result<(), InputError> {
        match self.bad_rows {
            BadRows::Reject => Err(InputError {
                file: Some(self.path.to_path_buf()),
                location: Some((row.line, row.column)),
                field: row.field,
                message: format!(
                    "{}; --skip-bad-rows leaves bad rows out and counts them",
                    row.message
                ),
                does_not_fit: false,
            }),
            BadRows::Skip => {
                self.rows.bad += 1;
                if self.rows.first_bad.is_none() {
                    let field = row.field.map_or(String::new(), |f| format!(", {f}"));
                    self.rows.first_bad =
                        Some(format!("line {}{field}: {}", row.line, row.message));
                }
                Ok(())
            }
        }
    }

    fn finish(self, format: TraceFormat, clock_origin_s: Option<f64>) -> Result<Trace, InputError> {
        if self.columns.times_s.is_empty() {
            let why = match (self.rows.empty, self.rows.bad) {
                (0, 0) => "no rows".to_string(),
                (empty, bad) => format!(
                    "no request to replay: {empty} rows without prompt or output tokens, {bad} \
                     bad rows skipped"
                ),
            };
            return Err(InputError::general(format!("the trace has {why}")).in_file(self.path));
        }
        let name = self
            .path
            .file_name()
            .map_or("trace".into(), |n| n.to_string_lossy().into_owned());
        Ok(self
            .columns
            .into_trace(name, format, clock_origin_s, self.rows))
    }
}

/// Reads the trace at `path` (see [`Trace::read`]).
pub(super) fn read(
    path: &Path,
    format: Option<TraceFormat>,
    bad_rows: BadRows,
) -> Result<Trace, InputError> {
    let open = || {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| InputError::general(format!("cannot read the trace: {e}")).in_file(path))
    };
    let mut first_line = String::new();
    open()?
        .read_line(&mut first_line)
        .map_err(|e| InputError::general(format!("cannot read the trace: {e}")).in_file(path))?;
    let format = match format {
        Some(format) => format,
        None => TraceFormat::detect(&first_line).ok_or_else(|| {
            let shown: String = first_line.trim().chars().take(120).collect();
            InputError {
                location: Some((1, 1)),
                ..InputError::general(format!(
                    "cannot tell the trace's format from its first line `{shown}`: expected an \
                     Azure header (TIMESTAMP,ContextTokens,GeneratedTokens), a BurstGPT header \
                     (Timestamp,…,Request tokens,Response tokens,…) or a JSON object (Mooncake); \
                     or name it with workload.trace.format (--format for fit)"
                ))
                .in_file(path)
            }
        })?,
    };
    let mut reader = Reader {
        path,
        bad_rows,
        columns: Columns::default(),
        rows: RowCounts::default(),
    };
    let clock_origin_s = match format {
        TraceFormat::Mooncake => {
            read_mooncake(&mut reader, open()?)?;
            None
        }
        TraceFormat::Azure | TraceFormat::Burstgpt => read_csv(&mut reader, format, open()?)?,
    };
    reader.finish(format, clock_origin_s)
}

/// Reads a CSV trace; for Azure, returns the time of day of time 0 (the first row's).
fn read_csv(
    reader: &mut Reader,
    format: TraceFormat,
    file: BufReader<File>,
) -> Result<Option<f64>, InputError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(file);
    let mut records = csv.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            return Err(
                InputError::general(format!("cannot read the header: {e}")).in_file(reader.path)
            );
        }
        None => return Err(InputError::general("the trace is empty").in_file(reader.path)),
    };
    let names: Vec<String> = header
        .iter()
        .map(|c| c.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let mut indices = [0usize; 3];
    for (index, column) in indices.iter_mut().zip(format.columns()) {
        *index = names
            .iter()
            .position(|n| *n == column.to_lowercase())
            .ok_or_else(|| InputError {
                location: Some((1, 1)),
                ..InputError::general(format!(
                    "expected a column `{column}` in the header of a {format} trace ({}), got \
                     `{}`",
                    format.columns().join(","),
                    header.iter().collect::<Vec<_>>().join(",")
                ))
                .in_file(reader.path)
            })?;
    }
    let [time_column, prompt_column, output_column] = format.columns();
    // Azure times are read as nanoseconds since 1970 and kept relative to the first row's,
    // which f64 seconds could not hold to the 100 ns the files give.
    let mut origin_ns: Option<i64> = None;
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                reader.bad(BadRow {
                    line,
                    column: 1,
                    field: None,
                    message: format!("cannot read the row: {e}"),
                })?;
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        // The column of field i, counting one comma between fields (exact without quotes).
        let column_of = |i: usize| {
            1 + record
                .iter()
                .take(i)
                .map(|f| f.chars().count() + 1)
                .sum::<usize>()
        };
        let cell = |i: usize, name: &str| -> Result<&str, BadRow> {
            record.get(i).map(str::trim).ok_or_else(|| BadRow {
                line,
                column: column_of(record.len().min(i)),
                field: Some(name.to_string()),
                message: format!(
                    "missing: the row has {} columns, the header {}",
                    record.len(),
                    names.len()
                ),
            })
        };
        let parsed = (|| -> Result<(f64, u32, u32), BadRow> {
            let at = |i: usize, name: &str, message: String| BadRow {
                line,
                column: column_of(i),
                field: Some(name.to_string()),
                message,
            };
            let time_text = cell(indices[0], time_column)?;
            let time_s = match format {
                TraceFormat::Azure => {
                    let ns = parse_datetime_ns(time_text).ok_or_else(|| {
                        at(
                            indices[0],
                            time_column,
                            format!(
                                "expected a date and time such as 2023-11-16 18:15:46.6805900, \
                                 got `{time_text}`"
                            ),
                        )
                    })?;
                    let origin = *origin_ns.get_or_insert(ns);
                    (ns - origin) as f64 / 1e9
                }
                _ => parse_seconds(time_text, 1.0).ok_or_else(|| {
                    at(
                        indices[0],
                        time_column,
                        format!("expected seconds from the trace's start, got `{time_text}`"),
                    )
                })?,
            };
            let tokens = |i: usize, name: &str| -> Result<u32, BadRow> {
                let text = cell(i, name)?;
                parse_tokens(text).ok_or_else(|| {
                    at(
                        i,
                        name,
                        format!("expected a whole number of tokens ≥ 0, got `{text}`"),
                    )
                })
            };
            Ok((
                time_s,
                tokens(indices[1], prompt_column)?,
                tokens(indices[2], output_column)?,
            ))
        })();
        match parsed {
            Ok((time_s, prompt, output)) => {
                reader.push(time_s, prompt, output);
            }
            Err(bad) => reader.bad(bad)?,
        }
    }
    Ok(origin_ns.map(|ns| (ns.rem_euclid(86_400 * 1_000_000_000)) as f64 / 1e9))
}

/// Reads a Mooncake JSON Lines trace; prompt block ids are renumbered densely in order of
/// first appearance.
fn read_mooncake(reader: &mut Reader, file: BufReader<File>) -> Result<(), InputError> {
    let mut blocks = PromptBlocks::default();
    let mut numbering: HashMap<u64, u32> = HashMap::new();
    for (index, line) in file.lines().enumerate() {
        let number = index + 1;
        let text = line.map_err(|e| {
            InputError {
                location: Some((number, 1)),
                ..InputError::general(format!("cannot read the line: {e}"))
            }
            .in_file(reader.path)
        })?;
        let text = text.trim_start_matches('\u{feff}');
        if text.trim().is_empty() {
            continue;
        }
        let parsed = (|| -> Result<(f64, u32, u32, Vec<u64>), BadRow> {
            let object: serde_json::Value = serde_json::from_str(text).map_err(|e| BadRow {
                line: number,
                column: e.column().max(1),
                field: None,
                message: format!("expected one JSON object a line: {e}"),
            })?;
            let object = object.as_object().ok_or_else(|| BadRow {
                line: number,
                column: 1,
                field: None,
                message: "expected one JSON object a line".into(),
            })?;
            let key_column = |key: &str| {
                text.find(&format!("\"{key}\""))
                    .map_or(1, |at| text[..at].chars().count() + 1)
            };
            let bad = |key: &str, message: String| BadRow {
                line: number,
                column: key_column(key),
                field: Some(key.to_string()),
                message,
            };
            let number_of = |key: &str| -> Result<&serde_json::Value, BadRow> {
                object
                    .get(key)
                    .ok_or_else(|| bad(key, "missing".to_string()))
            };
            let ms = number_of("timestamp")?;
            let time_s = ms
                .as_f64()
                .filter(|v| v.is_finite())
                .map(|ms| ms / 1e3)
                .ok_or_else(|| {
                    bad(
                        "timestamp",
                        format!("expected milliseconds from the trace's start, got {ms}"),
                    )
                })?;
            let tokens = |key: &str| -> Result<u32, BadRow> {
                let value = number_of(key)?;
                value.as_f64().and_then(whole_tokens).ok_or_else(|| {
                    bad(
                        key,
                        format!("expected a whole number of tokens ≥ 0, got {value}"),
                    )
                })
            };
            let (prompt, output) = (tokens("input_length")?, tokens("output_length")?);
            let ids = match object.get("hash_ids") {
                None => Vec::new(),
                Some(value) => value
                    .as_array()
                    .and_then(|ids| ids.iter().map(serde_json::Value::as_u64).collect())
                    .ok_or_else(|| {
                        bad(
                            "hash_ids",
                            "expected a list of whole numbers (the prompt's block ids)".into(),
                        )
                    })?,
            };
            Ok((time_s, prompt, output, ids))
        })();
        match parsed {
            Ok((time_s, prompt, output, ids)) => {
                if reader.push(time_s, prompt, output) {
                    for id in ids {
                        let next = numbering.len() as u32;
                        blocks.ids.push(*numbering.entry(id).or_insert(next));
                    }
                    blocks.ends.push(blocks.ids.len());
                }
            }
            Err(bad) => reader.bad(bad)?,
        }
    }
    reader.columns.blocks = Some(blocks);
    Ok(())
}

/// A whole number of tokens from a cell: `472`, or `472.0`.
fn parse_tokens(text: &str) -> Option<u32> {
    match text.parse::<u64>() {
        Ok(n) => u32::try_from(n).ok(),
        Err(_) => text.parse::<f64>().ok().and_then(whole_tokens),
    }
}

/// A whole, non-negative number of tokens that fits 32 bits.
fn whole_tokens(value: f64) -> Option<u32> {
    (value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX))
        .then_some(value as u32)
}

/// A finite number of `unit`-second ticks from a cell, in seconds.
fn parse_seconds(text: &str, unit: f64) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * unit)
}

/// Nanoseconds since 1970-01-01 00:00 UTC of `YYYY-MM-DD HH:MM:SS[.fraction]`, with `T` in
/// place of the space, and `Z` or a `±HH:MM` offset after, accepted.
pub fn parse_datetime_ns(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let (clock, offset_s) = split_offset(time.trim())?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, fraction),
        None => (clock, ""),
    };
    let mut hms_parts = hms.splitn(3, ':');
    let hour: i64 = hms_parts.next()?.parse().ok()?;
    let minute: i64 = hms_parts.next()?.parse().ok()?;
    let second: i64 = hms_parts.next()?.parse().ok()?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().ok()? * 10i64.pow(9 - fraction.len() as u32)
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// A clock time and its UTC offset in seconds (`Z`, `+01:00`, `-0500`; none is UTC).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, offset) = time.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some((clock.trim(), sign * (hours * 3600 + minutes * 60)))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str, suffix: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn formats_are_told_apart_by_their_first_line() {
        let detect = TraceFormat::detect;
        assert_eq!(
            detect("TIMESTAMP,ContextTokens,GeneratedTokens"),
            Some(TraceFormat::Azure)
        );
        assert_eq!(
            detect(
                "\u{feff}Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,\
                 Total tokens,Log Type"
            ),
            Some(TraceFormat::Burstgpt)
        );
        assert_eq!(
            detect(r#"{"timestamp": 0, "input_length": 10, "output_length": 2}"#),
            Some(TraceFormat::Mooncake)
        );
        assert_eq!(detect("time,prompt,output"), None);
        assert_eq!("BurstGPT".parse::<TraceFormat>(), Ok(TraceFormat::Burstgpt));
        assert!("csv".parse::<TraceFormat>().is_err());
    }

    #[test]
    fn dates_become_nanoseconds_since_1970() {
        // 2023-11-16 is day 19,677 after 1970-01-01.
        assert_eq!(days_from_civil(2023, 11, 16), 19_677);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        let ns = parse_datetime_ns("2023-11-16 18:15:46.6805900").unwrap();
        assert_eq!(
            ns,
            (19_677 * 86_400 + 18 * 3600 + 15 * 60 + 46) * 1_000_000_000 + 680_590_000
        );
        assert_eq!(
            parse_datetime_ns("2023-11-16T19:15:46.68059+01:00"),
            Some(ns)
        );
        assert_eq!(parse_datetime_ns("2023-11-16 18:15:46.6805900Z"), Some(ns));
        assert_eq!(parse_datetime_ns("2023-02-29 00:00:00"), None);
        assert_eq!(parse_datetime_ns("2023-11-16"), None);
        assert_eq!(parse_datetime_ns("2023-11-16 25:00:00"), None);
    }

    #[test]
    fn azure_rows_are_read_with_their_time_of_day() {
        let file = write(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n\
             2023-11-16 18:15:46.6805900,374,44\n\
             2023-11-16 18:15:50.9951690,396,109\n\
             2023-11-16 18:15:46.1805900,91,16\n",
            ".csv",
        );
        let trace = Trace::read(file.path(), None, BadRows::Reject).unwrap();
        assert_eq!(trace.format(), TraceFormat::Azure);
        assert_eq!(trace.len(), 3);
        let first = trace.record(0);
        assert_eq!(
            (first.time_s, first.prompt_tokens, first.output_tokens),
            (0.0, 91, 16)
        );
        assert!((trace.record(1).time_s - 0.5).abs() < 1e-12);
        assert!((trace.record(2).time_s - 4.814_579).abs() < 1e-9);
        assert!(
            (trace.clock_start_s().unwrap() - (18.0 * 3600.0 + 15.0 * 60.0 + 46.18059)).abs()
                < 1e-6
        );
        assert_eq!(trace.prompt_blocks(0), None);
    }

    #[test]
    fn burstgpt_leaves_out_failed_requests() {
        let file = write(
            "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
             5,1,0.5,ChatGPT,472,18,490,Conversation log\n\
             45.5,2,1.2,GPT-4,1087,0,1087,Conversation log\n\
             118,3,2.0,ChatGPT,417,115,532,API log\n",
            ".csv",
        );
        let trace = Trace::read(file.path(), None, BadRows::Reject).unwrap();
        assert_eq!(trace.format(), TraceFormat::Burstgpt);
        assert_eq!(trace.len(), 2);
        assert_eq!(trace.record(1).time_s, 113.0);
        assert_eq!(trace.rows().empty, 1);
        assert_eq!(trace.clock_start_s(), None);
    }

    #[test]
    fn mooncake_keeps_prompt_blocks_renumbered() {
        let file = write(
            "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 5, \"hash_ids\": [7, 900]}\n\
             \n\
             {\"timestamp\": 1500, \"input_length\": 1536, \"output_length\": 9, \"hash_ids\": [7, 900, 12]}\n",
            ".jsonl",
        );
        let trace = Trace::read(file.path(), None, BadRows::Reject).unwrap();
        assert_eq!(trace.format(), TraceFormat::Mooncake);
        assert_eq!(trace.record(1).time_s, 1.5);
        assert_eq!(trace.prompt_blocks(0), Some(&[0, 1][..]));
        assert_eq!(trace.prompt_blocks(1), Some(&[0, 1, 2][..]));
    }

    #[test]
    fn a_bad_row_names_the_line_the_column_and_what_was_expected() {
        let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                    2023-11-16 18:15:46.6805900,374,44\n\
                    2023-11-16 18:15:47.0000000,39x,10\n\
                    2023-11-16 18:15:48.0000000,12\n\
                    2023-11-16 18:15:49.0000000,5,6\n";
        let file = write(text, ".csv");
        let err = Trace::read(file.path(), None, BadRows::Reject).unwrap_err();
        assert_eq!(err.location, Some((3, 29)));
        assert_eq!(err.field.as_deref(), Some("ContextTokens"));
        assert!(
            err.message
                .starts_with("expected a whole number of tokens ≥ 0, got `39x`"),
            "{}",
            err.message
        );
        let skipped = Trace::read(file.path(), None, BadRows::Skip).unwrap();
        assert_eq!(skipped.len(), 2);
        assert_eq!(skipped.rows().bad, 2);
        assert_eq!(
            skipped.rows().first_bad.as_deref(),
            Some("line 3, ContextTokens: expected a whole number of tokens ≥ 0, got `39x`")
        );
        let moon = write(
            "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5}\n\
             {\"timestamp\": 9, \"input_length\": 10}\n",
            ".jsonl",
        );
        let err = Trace::read(moon.path(), None, BadRows::Reject).unwrap_err();
        assert_eq!(err.location, Some((2, 1)));
        assert_eq!(err.field.as_deref(), Some("output_length"));
    }

    #[test]
    fn a_named_format_needs_its_columns() {
        let file = write(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,1\n",
            ".csv",
        );
        let err =
            Trace::read(file.path(), Some(TraceFormat::Burstgpt), BadRows::Reject).unwrap_err();
        assert!(
            err.message.contains("expected a column `Request tokens`"),
            "{}",
            err.message
        );
        let unknown = write("a,b,c\n1,2,3\n", ".csv");
        let err = Trace::read(unknown.path(), None, BadRows::Reject).unwrap_err();
        assert!(
            err.message.contains("cannot tell the trace's format"),
            "{}",
            err.message
        );
    }
}
