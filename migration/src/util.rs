//! Small helpers shared by migrations. They must keep their behaviour forever:
//! landed migrations call them.

use sea_orm_migration::prelude::*;

/// Create an index (or a unique index) on `cols` of `table`.
pub async fn index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
    unique: bool,
) -> Result<(), DbErr>
where
    T: IntoIden + Clone + 'static,
    C: IntoIden + Clone + 'static,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col.clone());
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

/// A foreign key to `organizations.id` that removes the row with its organization.
pub fn org_fk<T, C>(table: T, col: C) -> ForeignKeyCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    ForeignKey::create()
        .from(table, col)
        .to(Alias::new("organizations"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A nullable reference that becomes NULL when its target goes.
pub fn set_null_fk<T, C>(table: T, col: C, target: &str) -> ForeignKeyCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    ForeignKey::create()
        .from(table, col)
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::SetNull)
        .to_owned()
}
