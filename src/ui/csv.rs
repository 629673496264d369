//! CSV downloads that are safe to open in a spreadsheet. Server names, log
//! messages and Discord's error texts are written by strangers; a cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
//! Excel, LibreOffice and Google Sheets (CSV injection), so such a cell is
//! prefixed with `'`, as OWASP advises. Quoting is the `csv` crate's.

use std::borrow::Cow;

/// `cell`, defused if a spreadsheet would evaluate it.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV document with a header row; every cell written through it is defused.
pub struct SafeCsv {
    writer: csv::Writer<Vec<u8>>,
}

impl SafeCsv {
    pub fn new(header: &[&str]) -> Result<Self, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(Self { writer })
    }

    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| spreadsheet_safe(cell.as_ref()).into_owned())
            .collect();
        self.writer.write_record(&cells)
    }

    pub fn finish(self) -> Result<Vec<u8>, csv::Error> {
        self.writer
            .into_inner()
            .map_err(|error| csv::Error::from(error.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_defused_and_others_are_not() {
        for formula in [
            "=HYPERLINK(\"http://evil.example\",\"click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1:A9)",
            "\tindented",
            "\rreturned",
        ] {
            assert_eq!(spreadsheet_safe(formula), format!("'{formula}"));
        }
        for plain in ["My Server", "", "12345", "a=b", "café ☕"] {
            assert_eq!(spreadsheet_safe(plain), plain);
        }
    }

    #[test]
    fn a_defused_cell_round_trips_through_a_csv_reader() {
        let mut csv = SafeCsv::new(&["name"]).unwrap();
        csv.row(["=1+1,\"quoted\""]).unwrap();
        let bytes = csv.finish().unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[0], "'=1+1,\"quoted\"");
    }
}
