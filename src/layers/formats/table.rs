//! Point lists as tables: CSV (the `csv` crate) and Excel workbooks
//! (`calamine`), such as the household lists a 综治 system exports with
//! positions picked on a web map.
//!
//! The header is the first row, among the first few, that names both a
//! longitude and a latitude column (`--lon-field`/`--lat-field`, or one of the
//! usual names), so a title row above it (often merged across the columns) is
//! skipped. Every later row that is not empty is a record: a point at its
//! longitude and latitude, with every column as a property. A row whose
//! position is missing or not a number is refused with its row number, and
//! the other rows are read.

use std::io::Cursor;

use calamine::{Data, Reader};
use geo_types::{Geometry, Point};
use serde_json::Value;

use super::encoding::decode;
use super::text::{number, CollectionText};
use super::{Converted, FormatError, Origin, SourceOptions};
use crate::layers::Rejection;

/// Header names taken as the longitude (easting) column, compared without
/// case and surrounding space.
/// (Not `x`/`y`: Chinese survey tables call the northing X.)
const LON_NAMES: [&str; 7] = [
    "lon",
    "lng",
    "long",
    "longitude",
    "经度",
    "gcj_lng",
    "bd_lng",
];
/// Header names taken as the latitude (northing) column.
const LAT_NAMES: [&str; 5] = ["lat", "latitude", "纬度", "gcj_lat", "bd_lat"];

/// Rows searched for the header.
const HEADER_ROWS: usize = 10;

/// One cell, as either format gives it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Number(f64),
    Text(String),
    Bool(bool),
}

impl Cell {
    fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    fn header(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Number(n) => number(*n).to_string(),
            Cell::Text(t) => t.trim().to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }

    /// The cell as a property. Text that reads as a plain number (no
    /// leading zero, so codes such as `0012` stay text) becomes a number:
    /// CSV has nothing but text, and Excel lists often keep counts in text
    /// cells.
    fn value(&self) -> Value {
        match self {
            Cell::Empty => Value::Null,
            Cell::Number(n) => number(*n),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Text(t) => match plain_number(t) {
                Some(n) => number(n),
                None => Value::String(t.clone()),
            },
        }
    }

    /// The cell as a coordinate.
    fn coordinate(&self) -> Result<f64, String> {
        match self {
            Cell::Number(n) if n.is_finite() => Ok(*n),
            Cell::Text(t) if t.trim().is_empty() => Err("is empty".into()),
            Cell::Text(t) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("holds {t:?}, not a number")),
            Cell::Empty => Err("is empty".into()),
            Cell::Number(n) => Err(format!("holds {n}, not a finite number")),
            Cell::Bool(b) => Err(format!("holds {b}, not a number")),
        }
    }
}

fn plain_number(t: &str) -> Option<f64> {
    let s = t.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !leading_zero;
    plain.then(|| s.parse().ok()).flatten()
}

/// Reads a CSV file: UTF-8 (with or without a byte order mark) unless
/// `--encoding` names another, such as the GBK Excel writes on Chinese Windows.
pub(super) fn read_csv(bytes: &[u8], opts: &SourceOptions) -> Result<Converted, FormatError> {
    let (encoding, assumed) = match opts.encoding {
        Some(e) => (e, false),
        None => (encoding_rs::UTF_8, true),
    };
    let text = decode(bytes, encoding, || "the CSV file".into(), assumed)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| FormatError::Table(format!("row {}: {e}", i + 1)))?;
        // The row as Excel shows the file: a cell spanning lines is one row.
        let line = i + 1;
        let cells = record
            .iter()
            .map(|c| {
                if c.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(c.to_string())
                }
            })
            .collect();
        rows.push((line, cells));
    }
    to_points(rows, opts, format!("CSV, {} text", encoding.name()))
}

/// Reads the named sheet, or the first, of an Excel workbook.
pub(super) fn read_excel(bytes: &[u8], opts: &SourceOptions) -> Result<Converted, FormatError> {
    let err = |e: calamine::Error| FormatError::Table(e.to_string());
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(err)?;
    let names = book.sheet_names();
    let sheet = match &opts.layer {
        Some(name) => names.iter().find(|n| *n == name).cloned().ok_or_else(|| {
            FormatError::Table(format!(
                "the workbook has no sheet {name:?} (it has {})",
                names.join(", ")
            ))
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| FormatError::Table("the workbook has no sheets".into()))?,
    };
    let range = book.worksheet_range(&sheet).map_err(err)?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            // Columns left of the range are empty: keep the sheet's columns.
            let mut cells = vec![Cell::Empty; col0 as usize];
            cells.extend(row.iter().map(excel_cell));
            (row0 as usize + i + 1, cells)
        })
        .collect();
    to_points(rows, opts, format!("Excel sheet {sheet:?}"))
}

fn excel_cell(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::String(s) => Cell::Text(s.clone()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        // Without calamine's chrono feature: the Excel serial number, as text.
        Data::DateTime(dt) => Cell::Text(dt.to_string()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// Finds the header and the coordinate columns.
fn header(
    rows: &[(usize, Vec<Cell>)],
    opts: &SourceOptions,
) -> Result<(usize, Vec<String>, usize, usize), FormatError> {
    let find = |names: &[String], given: &Option<String>, usual: &[&str]| -> Option<usize> {
        match given {
            Some(g) => names.iter().position(|n| n == g.trim()),
            None => usual
                .iter()
                .find_map(|u| names.iter().position(|n| n.eq_ignore_ascii_case(u))),
        }
    };
    for (at, (_, cells)) in rows.iter().enumerate().take(HEADER_ROWS) {
        let names: Vec<String> = cells.iter().map(Cell::header).collect();
        if let (Some(lon), Some(lat)) = (
            find(&names, &opts.lon_field, &LON_NAMES),
            find(&names, &opts.lat_field, &LAT_NAMES),
        ) {
            if lon != lat {
                return Ok((at, unique(names), lon, lat));
            }
        }
    }
    let wanted = |given: &Option<String>, usual: &[&str]| match given {
        Some(g) => format!("{g:?}"),
        None => usual.join("/"),
    };
    Err(FormatError::Table(format!(
        "no row among the first {HEADER_ROWS} names both a longitude column ({}) and a latitude column ({}); name them with --lon-field and --lat-field",
        wanted(&opts.lon_field, &LON_NAMES),
        wanted(&opts.lat_field, &LAT_NAMES),
    )))
}

/// Header names made usable as property names: an empty one (a merged or
/// blank header cell) becomes `column_N`, a repeated one gets `_2`, `_3`, ….
fn unique(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, n) in names.into_iter().enumerate() {
        let base = if n.is_empty() {
            format!("column_{}", i + 1)
        } else {
            n
        };
        let mut name = base.clone();
        let mut k = 2;
        while out.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        out.push(name);
    }
    out
}

fn to_points(
    rows: Vec<(usize, Vec<Cell>)>,
    opts: &SourceOptions,
    source: String,
) -> Result<Converted, FormatError> {
    let (at, names, lon, lat) = header(&rows, opts)?;
    let header_row = rows[at].0;
    let id_column = opts
        .id_field
        .as_ref()
        .and_then(|f| names.iter().position(|n| n == f));
    let mut out = CollectionText::new(None);
    let mut rejected = Vec::new();
    let mut total = 0;
    for (row, cells) in rows.into_iter().skip(at + 1) {
        if cells.iter().all(Cell::is_empty) {
            continue;
        }
        total += 1;
        let record = row - header_row - 1;
        let cell = |i: usize| cells.get(i).cloned().unwrap_or(Cell::Empty);
        let position = cell(lon)
            .coordinate()
            .map_err(|e| format!("the longitude column {:?} {e}", names[lon]))
            .and_then(|x| {
                cell(lat)
                    .coordinate()
                    .map(|y| (x, y))
                    .map_err(|e| format!("the latitude column {:?} {e}", names[lat]))
            });
        let props: Vec<(String, Value)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), cell(i).value()))
            .collect();
        match position {
            Ok((x, y)) => out.push(record, Some(&Geometry::Point(Point::new(x, y))), &props),
            Err(reason) => rejected.push(Rejection {
                index: record,
                id: id_column.and_then(|i| match cell(i).value() {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
                row: None,
                reason,
            }),
        }
    }
    if total == 0 {
        return Err(FormatError::Table(format!(
            "no data rows below the header on row {header_row}"
        )));
    }
    let (text, records) = out.finish();
    Ok(Converted {
        text,
        origin: Origin {
            records,
            total,
            rejected,
            first_row: Some(header_row + 1),
            source: format!("{source}, header on row {header_row}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_row_is_skipped_and_bad_rows_are_named() {
        let csv = "住户名单,,,\n户主,经度,纬度,户数\n张三,118.31,32.30,3\n,,,\n李四,abc,32.31,2\n王五,118.32,32.32,0012\n";
        let c = read_csv(csv.as_bytes(), &SourceOptions::default()).unwrap();
        assert_eq!(c.origin.records, [0, 3]);
        assert_eq!(c.origin.total, 3);
        assert_eq!(c.origin.first_row, Some(3));
        assert_eq!(c.origin.rejected.len(), 1);
        assert_eq!(c.origin.rejected[0].index, 2);
        assert!(c.origin.rejected[0].reason.contains("\"abc\""));
        assert!(c.text.contains(r#""户数":3"#), "{}", c.text);
        assert!(c.text.contains(r#""户数":"0012""#), "{}", c.text);
    }
}
