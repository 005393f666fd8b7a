//! Lead import from a CSV file of any size, for `accord import FILE.csv`.
//!
//! The file is streamed one record at a time and fed to [`super::import::import`] in
//! chunks of at most [`super::import::MAX_ROWS`] rows, so memory stays flat however
//! large the file is and every row gets exactly the upsert rules (and the savepoint
//! per row) of the GraphQL `importLeads`. This module only maps columns to
//! [`ImportRow`]s, counts outcomes and writes the error report.
//!
//! Columns are matched by header, in snake_case or camelCase (`external_id` or
//! `externalId`); unknown columns are ignored. An empty cell means "unknown": it
//! never clears a value stored for an existing lead.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use entity::LifecycleStage;
use indicatif::ProgressBar;

use super::import::{self, ImportRow, MatchOn, RowStatus};
use crate::auth::Actor;
use crate::db::Transactions;
use crate::error::ApiError;

/// A CSV import that could not run or finish. Problems of single rows are not errors
/// of the import: they go to the error report.
#[derive(Debug, thiserror::Error)]
pub enum CsvImportError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not CSV we can use (no header, no identifying column…).
    #[error("{path}: {problem}")]
    Format { path: PathBuf, problem: String },
    /// The error report cannot be written.
    #[error("cannot write the error report {path}: {source}")]
    Report { path: PathBuf, source: csv::Error },
    /// The database refused the import as a whole.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// How to run an import.
#[derive(Debug, Clone)]
pub struct CsvImportOptions {
    /// Which column identifies an existing lead.
    pub match_on: MatchOn,
    /// Report what would happen without storing anything. Each chunk is rolled back
    /// on its own, so a lead created by an earlier chunk is not seen by a later one.
    pub dry_run: bool,
    /// Where bad rows are listed; written only when there are any.
    pub error_report: PathBuf,
    /// Rows per call of the import engine (at most [`import::MAX_ROWS`]).
    pub chunk_size: usize,
}

impl CsvImportOptions {
    /// Defaults for `file`: match by e-mail, store, report to `<file>.errors.csv`.
    pub fn for_file(file: &Path) -> Self {
        Self {
            match_on: MatchOn::Email,
            dry_run: false,
            error_report: default_error_report(file),
            chunk_size: import::MAX_ROWS,
        }
    }
}

/// `<file>.errors.csv`, beside the imported file.
pub fn default_error_report(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".errors.csv");
    PathBuf::from(name)
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    /// Data rows read (the header excluded).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows naming the same lead as an earlier row of their chunk of 1,000.
    pub duplicates: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub dry_run: bool,
    /// The error report, when there were errors.
    pub error_report: Option<PathBuf>,
}

impl ImportSummary {
    /// Rows handled per second of the whole run.
    pub fn rows_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.rows as f64 / seconds } else { self.rows as f64 }
    }
}

impl std::fmt::Display for ImportSummary {
    /// One `name: value` per line, easy to read and to parse in scripts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dry_run {
            writeln!(f, "dry run: nothing was stored")?;
        }
        writeln!(f, "rows: {}", self.rows)?;
        writeln!(f, "created: {}", self.created)?;
        writeln!(f, "updated: {}", self.updated)?;
        writeln!(f, "unchanged: {}", self.unchanged)?;
        writeln!(f, "duplicates: {}", self.duplicates)?;
        writeln!(f, "errors: {}", self.errors)?;
        writeln!(f, "elapsed: {:.2} s", self.elapsed.as_secs_f64())?;
        write!(f, "rows per second: {:.0}", self.rows_per_second())?;
        if let Some(path) = &self.error_report {
            write!(f, "\nerror report: {}", path.display())?;
        }
        Ok(())
    }
}

/// An [`ImportRow`] field a CSV column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Email,
    ExternalId,
    FirstName,
    LastName,
    Title,
    Phone,
    Source,
    Campaign,
    LifecycleStage,
    Company,
    Domain,
    Industry,
    EmployeeCount,
    Region,
}

impl Column {
    const ALL: [Column; 14] = [
        Self::Email,
        Self::ExternalId,
        Self::FirstName,
        Self::LastName,
        Self::Title,
        Self::Phone,
        Self::Source,
        Self::Campaign,
        Self::LifecycleStage,
        Self::Company,
        Self::Domain,
        Self::Industry,
        Self::EmployeeCount,
        Self::Region,
    ];

    /// The snake_case header name, used in the error report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::ExternalId => "external_id",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Title => "title",
            Self::Phone => "phone",
            Self::Source => "source",
            Self::Campaign => "campaign",
            Self::LifecycleStage => "lifecycle_stage",
            Self::Company => "company",
            Self::Domain => "domain",
            Self::Industry => "industry",
            Self::EmployeeCount => "employee_count",
            Self::Region => "region",
        }
    }

    /// The column a header names: `external_id`, `externalId` and `External ID` alike.
    pub fn from_header(header: &str) -> Option<Self> {
        let key = squash(header);
        Self::ALL.into_iter().find(|c| squash(c.name()) == key)
    }
}

/// Lower-case letters and digits only, so naming styles compare equal.
fn squash(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The import engine names fields in camelCase (`externalId`); the report uses the
/// CSV's snake_case (`external_id`).
fn snake_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A row that cannot become an [`ImportRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub field: String,
    pub message: String,
}

/// Which CSV column fills which field, built from the header record.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    columns: Vec<(usize, Column)>,
}

impl ColumnMap {
    /// Map a header. Unknown columns are ignored; a column named twice, or a file
    /// with neither `email` nor `external_id`, is refused.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut columns: Vec<(usize, Column)> = Vec::new();
        for (index, header) in headers.into_iter().enumerate() {
            // Spreadsheet exports often start with a UTF-8 byte-order mark.
            let header = header.trim_start_matches('\u{feff}');
            let Some(column) = Column::from_header(header) else { continue };
            if columns.iter().any(|(_, c)| *c == column) {
                return Err(format!("the column {} appears twice in the header", column.name()));
            }
            columns.push((index, column));
        }
        if !columns.iter().any(|(_, c)| matches!(c, Column::Email | Column::ExternalId)) {
            return Err("the header has neither an email nor an external_id column".into());
        }
        Ok(Self { columns })
    }

    /// Whether the header has this column.
    pub fn has(&self, column: Column) -> bool {
        self.columns.iter().any(|(_, c)| *c == column)
    }

    /// Just the identifying columns of a record, for the error report.
    pub fn identity<'a>(&self, record: impl Fn(usize) -> Option<&'a str>) -> ImportRow {
        let cell = |column: Column| {
            let index = self.columns.iter().find(|(_, c)| *c == column).map(|(i, _)| *i)?;
            record(index).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
        };
        ImportRow { email: cell(Column::Email), external_id: cell(Column::ExternalId), ..Default::default() }
    }

    /// Turn one record into a row. Values are checked only as far as the CSV is
    /// concerned (numbers, stages); the import engine checks the rest.
    pub fn row<'a>(&self, record: impl Fn(usize) -> Option<&'a str>) -> Result<ImportRow, RowProblem> {
        let mut row = ImportRow::default();
        for &(index, column) in &self.columns {
            let Some(value) = record(index).map(str::trim).filter(|v| !v.is_empty()) else { continue };
            let text = Some(value.to_owned());
            match column {
                Column::Email => row.email = text,
                Column::ExternalId => row.external_id = text,
                Column::FirstName => row.first_name = text,
                Column::LastName => row.last_name = text,
                Column::Title => row.title = text,
                Column::Phone => row.phone = text,
                Column::Source => row.source = text,
                Column::Campaign => row.campaign = text,
                Column::Company => row.company = text,
                Column::Domain => row.domain = text,
                Column::Industry => row.industry = text,
                Column::Region => row.region = text,
                Column::LifecycleStage => row.lifecycle_stage = Some(parse_stage(value)?),
                Column::EmployeeCount => row.employee_count = Some(parse_employees(value)?),
            }
        }
        Ok(row)
    }
}

fn parse_stage(value: &str) -> Result<LifecycleStage, RowProblem> {
    use sea_orm::Iterable;
    let wanted = squash(value);
    LifecycleStage::iter().find(|stage| squash(&super::lifecycle::stage_name(*stage)) == wanted).ok_or_else(|| {
        let names: Vec<String> = LifecycleStage::iter().map(super::lifecycle::stage_name).collect();
        RowProblem {
            field: Column::LifecycleStage.name().into(),
            message: format!("{value:?} is not a lifecycle stage; use one of {}", names.join(", ")),
        }
    })
}

fn parse_employees(value: &str) -> Result<i32, RowProblem> {
    // Exports write thousands as `1,200` or `1 200`.
    let digits: String = value.chars().filter(|c| !matches!(c, ',' | '_' | ' ')).collect();
    digits.parse::<i32>().map_err(|_| RowProblem {
        field: Column::EmployeeCount.name().into(),
        message: format!("{value:?} is not a whole number of employees"),
    })
}

/// The error report, created at the first bad row so a clean run leaves no file.
struct ErrorReport {
    path: PathBuf,
    writer: Option<csv::Writer<File>>,
}

impl ErrorReport {
    fn new(path: PathBuf) -> Self {
        Self { path, writer: None }
    }

    fn add(&mut self, place: Place, row: Option<&ImportRow>, problem: &RowProblem) -> Result<(), CsvImportError> {
        let report_error = |source: csv::Error| CsvImportError::Report { path: self.path.clone(), source };
        if self.writer.is_none() {
            let mut writer = csv::Writer::from_path(&self.path).map_err(report_error)?;
            writer.write_record(["row", "line", "email", "external_id", "field", "message"]).map_err(report_error)?;
            self.writer = Some(writer);
        }
        if let Some(writer) = self.writer.as_mut() {
            let (number, line) = (place.row.to_string(), place.line.to_string());
            let email = row.and_then(|r| r.email.as_deref()).unwrap_or_default();
            let external_id = row.and_then(|r| r.external_id.as_deref()).unwrap_or_default();
            writer
                .write_record([number.as_str(), line.as_str(), email, external_id, &problem.field, &problem.message])
                .map_err(|source| CsvImportError::Report { path: self.path.clone(), source })?;
        }
        Ok(())
    }

    /// Flush the report; returns its path when one was written.
    fn finish(self) -> Result<Option<PathBuf>, CsvImportError> {
        match self.writer {
            Some(mut writer) => {
                writer.flush().map_err(|e| CsvImportError::Report { path: self.path.clone(), source: e.into() })?;
                Ok(Some(self.path))
            }
            None => {
                // A report left by an earlier run of the same file would describe
                // rows this run no longer refuses.
                let _ = std::fs::remove_file(&self.path);
                Ok(None)
            }
        }
    }
}

/// Where a row sits in the file: its number counted from 1 as people count rows (the
/// header is not a row), and the file line it starts on (a quoted cell may span lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    row: u64,
    line: u64,
}

/// Rows waiting for the import engine, with the place each came from, and the rows of
/// the same stretch of the file that were refused before reaching it. They are
/// reported together, so the report lists bad rows in file order.
struct Chunk {
    rows: Vec<ImportRow>,
    lines: Vec<Place>,
    problems: Vec<(Place, ImportRow, RowProblem)>,
}

impl Chunk {
    fn len(&self) -> usize {
        self.rows.len() + self.problems.len()
    }
}

/// Import `path` for `actor`'s organization, advancing `progress` (its length is set
/// to the file size in bytes).
#[tracing::instrument(skip(db, actor, options, progress), fields(org = %actor.org_id))]
pub async fn import_file(
    db: &impl Transactions,
    actor: &Actor,
    path: &Path,
    options: &CsvImportOptions,
    progress: &ProgressBar,
) -> Result<ImportSummary, CsvImportError> {
    let started = Instant::now();
    let read_error = |source: std::io::Error| CsvImportError::Read { path: path.to_owned(), source };
    let file = File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    progress.set_length(size);
    // Reads are buffered and brief; the CLI runs nothing else on this runtime, so
    // blocking it between database round-trips costs nothing.
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::None).from_reader(BufReader::new(file));
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let columns = ColumnMap::from_headers(headers.iter())
        .map_err(|problem| CsvImportError::Format { path: path.to_owned(), problem })?;
    let identity = match options.match_on {
        MatchOn::Email => Column::Email,
        MatchOn::ExternalId => Column::ExternalId,
    };
    if !columns.has(identity) {
        return Err(CsvImportError::Format {
            path: path.to_owned(),
            problem: format!("matching on {} needs a {} column", identity.name(), identity.name()),
        });
    }
    let chunk_size = options.chunk_size.clamp(1, import::MAX_ROWS);
    let mut summary = ImportSummary { dry_run: options.dry_run, ..Default::default() };
    let mut report = ErrorReport::new(options.error_report.clone());
    let mut chunk =
        Chunk { rows: Vec::with_capacity(chunk_size), lines: Vec::with_capacity(chunk_size), problems: Vec::new() };
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                summary.rows += 1;
                let place = Place { row: summary.rows, line: record.position().map_or(line, |p| p.line()) };
                match columns.row(|i| record.get(i)) {
                    Ok(row) => {
                        chunk.rows.push(row);
                        chunk.lines.push(place);
                    }
                    Err(problem) => chunk.problems.push((place, columns.identity(|i| record.get(i)), problem)),
                }
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) => {
                // One badly encoded record is a bad row, not a bad file.
                summary.rows += 1;
                let place = Place { row: summary.rows, line: error.position().map_or(line, |p| p.line()) };
                let problem = RowProblem { field: String::new(), message: "the row is not valid UTF-8".into() };
                chunk.problems.push((place, ImportRow::default(), problem));
            }
            Err(error) => return Err(csv_error(path, error)),
        }
        if chunk.len() >= chunk_size {
            run_chunk(db, actor, &mut chunk, options, &mut summary, &mut report).await?;
            show_progress(progress, reader.position().byte(), &summary, started);
        }
    }
    run_chunk(db, actor, &mut chunk, options, &mut summary, &mut report).await?;
    show_progress(progress, size, &summary, started);
    summary.error_report = report.finish()?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn csv_error(path: &Path, error: csv::Error) -> CsvImportError {
    let problem = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(source) => CsvImportError::Read { path: path.to_owned(), source },
        _ => CsvImportError::Format { path: path.to_owned(), problem },
    }
}

fn show_progress(progress: &ProgressBar, byte: u64, summary: &ImportSummary, started: Instant) {
    progress.set_position(byte);
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    progress.set_message(format!("{} rows, {:.0} rows/s", summary.rows, summary.rows as f64 / seconds));
}

/// Send the waiting rows to the import engine and book their outcomes.
async fn run_chunk(
    db: &impl Transactions,
    actor: &Actor,
    chunk: &mut Chunk,
    options: &CsvImportOptions,
    summary: &mut ImportSummary,
    report: &mut ErrorReport,
) -> Result<(), CsvImportError> {
    let rows = std::mem::take(&mut chunk.rows);
    let lines = std::mem::take(&mut chunk.lines);
    let mut problems = std::mem::take(&mut chunk.problems);
    if !rows.is_empty() {
        // The engine consumes its rows; keep the identifying columns for the report.
        let identities: Vec<ImportRow> = rows
            .iter()
            .map(|r| ImportRow { email: r.email.clone(), external_id: r.external_id.clone(), ..Default::default() })
            .collect();
        let results = import::import(db, actor, rows, options.match_on, options.dry_run).await?;
        for result in results {
            match result.status {
                RowStatus::Created => summary.created += 1,
                RowStatus::Updated => summary.updated += 1,
                RowStatus::Unchanged => summary.unchanged += 1,
                RowStatus::Duplicate => summary.duplicates += 1,
                RowStatus::Error => {
                    let problem = RowProblem {
                        field: result.field.as_deref().map(snake_case).unwrap_or_default(),
                        message: result.message.unwrap_or_default(),
                    };
                    let place = lines.get(result.row).copied().unwrap_or_default();
                    problems.push((place, identities.get(result.row).cloned().unwrap_or_default(), problem));
                }
            }
        }
    }
    problems.sort_by_key(|(place, _, _)| *place);
    for (place, identity, problem) in &problems {
        summary.errors += 1;
        report.add(*place, Some(identity), problem)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(headers: &[&str]) -> ColumnMap {
        ColumnMap::from_headers(headers.iter().copied()).unwrap()
    }

    fn row(columns: &ColumnMap, values: &[&str]) -> Result<ImportRow, RowProblem> {
        columns.row(|i| values.get(i).copied())
    }

    #[test]
    fn snake_case_and_camel_case_headers_map_to_the_same_fields() {
        let columns =
            map(&["\u{feff}Email", "externalId", "first_name", "LastName", "Employee Count", "lifecycle_stage"]);
        let row = row(&columns, &["Ana@Payly.io", "p-1", "Ana", "Zed", "1,200", "mql"]).unwrap();
        assert_eq!(row.email.as_deref(), Some("Ana@Payly.io"));
        assert_eq!(row.external_id.as_deref(), Some("p-1"));
        assert_eq!(row.first_name.as_deref(), Some("Ana"));
        assert_eq!(row.last_name.as_deref(), Some("Zed"));
        assert_eq!(row.employee_count, Some(1200));
        assert_eq!(row.lifecycle_stage, Some(LifecycleStage::Mql));
    }

    #[test]
    fn unknown_columns_are_ignored_and_empty_cells_stay_unknown() {
        let columns = map(&["favourite_colour", "email", "title", "domain"]);
        let row = row(&columns, &["teal", "bo@shopco.com", "  ", "shopco.com"]).unwrap();
        assert_eq!(row.email.as_deref(), Some("bo@shopco.com"));
        assert_eq!(row.title, None, "an empty cell must not clear a stored title");
        assert_eq!(row.domain.as_deref(), Some("shopco.com"));
        // A short record (fewer cells than headers) is read as far as it goes.
        assert!(super::tests::row(&columns, &["teal"]).unwrap().email.is_none());
    }

    #[test]
    fn bad_values_become_row_problems_naming_the_column() {
        let columns = map(&["email", "employee_count", "lifecycle_stage"]);
        let problem = row(&columns, &["a@b.io", "lots", ""]).unwrap_err();
        assert_eq!(problem.field, "employee_count");
        assert!(problem.message.contains("\"lots\""), "{}", problem.message);
        let problem = row(&columns, &["a@b.io", "", "hot lead"]).unwrap_err();
        assert_eq!(problem.field, "lifecycle_stage");
        assert!(problem.message.contains("MQL"), "{}", problem.message);
        let overflow = row(&columns, &["a@b.io", "99999999999", ""]).unwrap_err();
        assert_eq!(overflow.field, "employee_count");
    }

    #[test]
    fn a_header_without_an_identifying_column_or_with_a_repeated_one_is_refused() {
        assert!(ColumnMap::from_headers(["name", "company"]).unwrap_err().contains("neither"));
        assert!(ColumnMap::from_headers(["email", "E-mail"]).unwrap_err().contains("twice"));
        assert!(ColumnMap::from_headers(["external_id"]).is_ok());
    }

    #[test]
    fn engine_fields_are_reported_in_snake_case() {
        assert_eq!(snake_case("externalId"), "external_id");
        assert_eq!(snake_case("employeeCount"), "employee_count");
        assert_eq!(snake_case("email"), "email");
    }

    #[test]
    fn the_error_report_sits_beside_the_file() {
        assert_eq!(default_error_report(Path::new("in/leads.csv")), PathBuf::from("in/leads.csv.errors.csv"));
    }

    #[test]
    fn the_summary_prints_one_value_per_line() {
        let summary = ImportSummary {
            rows: 10,
            created: 6,
            updated: 1,
            unchanged: 1,
            duplicates: 0,
            errors: 2,
            elapsed: Duration::from_secs(2),
            dry_run: false,
            error_report: Some(PathBuf::from("x.errors.csv")),
        };
        let text = summary.to_string();
        assert!(text.contains("created: 6\n") && text.contains("duplicates: 0\n"), "{text}");
        assert!(text.contains("rows per second: 5\n"), "{text}");
        assert!(text.ends_with("error report: x.errors.csv"), "{text}");
    }
}
