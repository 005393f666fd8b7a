//! Reading PostgreSQL rows by position, for the hottest list paths. sea-orm's derived
//! decoding looks every column up by name (a hash per column per row) and, for every NULL
//! of an optional column, formats an error message that it then discards; under the
//! leads page (50 leads with their scores) decoding was 18 % of the server's CPU.
//!
//! [`Columns`] reads a row in select order and checks each column's name on the way:
//! a row laid out differently yields [`Unread::Layout`], and the caller decodes it by name,
//! so a changed select can cost speed but never a wrong value.

use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{Column as _, Decode, Postgres, Row as _, Type};
use sea_orm::{ActiveEnum, DbErr};

/// A cursor over one row's columns.
pub struct Columns<'r> {
    row: &'r PgRow,
    next: usize,
}

/// Why a row could not be read by position.
#[derive(Debug)]
pub enum Unread {
    /// The row is not laid out as expected: decode it by name.
    Layout,
    /// A value did not decode.
    Db(DbErr),
}

impl<'r> Columns<'r> {
    pub fn new(row: &'r PgRow) -> Self {
        Self { row, next: 0 }
    }

    /// The next column's value, when that column is `name`.
    pub fn get<T>(&mut self, name: &str) -> Result<T, Unread>
    where
        T: Decode<'r, Postgres> + Type<Postgres>,
    {
        let at = self.next;
        self.next += 1;
        match self.row.columns().get(at) {
            Some(column) if column.name() == name => {
                self.row.try_get(at).map_err(|e| Unread::Db(DbErr::Type(format!("column `{name}`: {e}"))))
            }
            _ => Err(Unread::Layout),
        }
    }

    /// The next column as a string-valued enum, when that column is `name`.
    pub fn enumeration<E>(&mut self, name: &str) -> Result<E, Unread>
    where
        E: ActiveEnum<Value = String>,
    {
        E::try_from_value(&self.get::<String>(name)?).map_err(Unread::Db)
    }

    /// Done reading: a row with more columns than were read is laid out differently too.
    pub fn finish(self) -> Result<(), Unread> {
        if self.next == self.row.columns().len() { Ok(()) } else { Err(Unread::Layout) }
    }
}
