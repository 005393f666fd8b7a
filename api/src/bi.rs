//! SQL access for BI tools (PostgreSQL only). The `bi` schema holds documented,
//! read-only views over the base tables (migration `m20261130_000002`); `accord bi-role`
//! prints the SQL for a login limited to one organization: a schema `bi_<slug>` of
//! views `SELECT * FROM bi.<view> WHERE org_id = '<id>'`, readable by that login only.
//! Views run with their owner's rights, so the login never needs (nor gets) a grant on
//! `public` or `bi`.

use rand::Rng;
use rand::distr::Alphanumeric;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use uuid::Uuid;

use crate::db::dialect;

/// What the role's SQL is built from.
#[derive(Debug, Clone)]
pub struct RoleRequest<'a> {
    /// The login role to create (checked by [`crate::validate::sql_role_name`]).
    pub role: &'a str,
    pub org_slug: &'a str,
    pub org_id: Uuid,
    /// The database the role may connect to.
    pub database: &'a str,
    /// The views of the `bi` schema.
    pub views: &'a [String],
    /// The role's password.
    pub password: &'a str,
    /// The columns of each view ([`view_columns`]).
    pub columns: &'a std::collections::HashMap<String, Vec<String>>,
    /// Whether the login reads personal columns ([`PERSONAL_COLUMNS`]); such logins get
    /// a schema of their own, `bi_<slug>_pii`.
    pub pii: bool,
}

/// The columns of the `bi` views that hold personal data, like the GraphQL fields of
/// `auth::fields`: left out of an organization's views unless its login is made with
/// `--pii`.
pub const PERSONAL_COLUMNS: &[(&str, &[&str])] = &[("leads", &["email", "first_name", "last_name"])];

fn personal(view: &str, column: &str) -> bool {
    PERSONAL_COLUMNS.iter().any(|(v, columns)| *v == view && columns.contains(&column))
}

/// The schema of one organization's views: `bi_<slug>` with `-` as `_` (`bi_<slug>_pii`
/// with personal columns).
pub fn org_schema(slug: &str, pii: bool) -> String {
    let suffix = if pii { "_pii" } else { "" };
    let mut schema: String = format!("bi_{slug}{suffix}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    schema.truncate(63);
    schema
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A random password of 32 letters and digits.
pub fn generate_password() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
}

/// The views of the `bi` schema, by name. Errors when there are none (SQLite, or a
/// PostgreSQL database not migrated yet).
pub async fn views(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    if !dialect::is_postgres(db) {
        anyhow::bail!("the BI views exist on PostgreSQL only: set DATABASE_URL=postgres://…");
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT viewname FROM pg_catalog.pg_views WHERE schemaname = 'bi' ORDER BY viewname",
        ))
        .await?;
    let views = rows.iter().map(|row| row.try_get::<String>("", "viewname")).collect::<Result<Vec<_>, _>>()?;
    if views.is_empty() {
        anyhow::bail!("the database has no `bi` views: run `accord migrate up` first");
    }
    Ok(views)
}

/// The columns of every `bi` view, in order.
pub async fn view_columns(db: &DatabaseConnection) -> anyhow::Result<std::collections::HashMap<String, Vec<String>>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT table_name::text AS view, column_name::text AS column FROM information_schema.columns \
             WHERE table_schema = 'bi' ORDER BY table_name, ordinal_position",
        ))
        .await?;
    let mut columns: std::collections::HashMap<String, Vec<String>> = Default::default();
    for row in rows {
        columns.entry(row.try_get::<String>("", "view")?).or_default().push(row.try_get::<String>("", "column")?);
    }
    Ok(columns)
}

/// The name of the database `db` is connected to.
pub async fn current_database(db: &DatabaseConnection) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT current_database() AS name"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no current database"))?;
    Ok(row.try_get::<String>("", "name")?)
}

/// The SQL that creates the role and its organization's schema of views. Safe to run
/// again for another role of the same organization (the schema and views are reused).
pub fn role_sql(r: &RoleRequest<'_>) -> String {
    let role = ident(r.role);
    let schema_name = org_schema(r.org_slug, r.pii);
    let schema = ident(&schema_name);
    let org = literal(&r.org_id.to_string());
    let mut sql = format!(
        "-- Accord: a read-only PostgreSQL login `{role_name}` for BI tools, limited to the organization\n\
         -- `{slug}` ({id}). Run it as the owner of the Accord database, for example:\n\
         --   accord bi-role --name {role_name} --org {slug} | psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1\n\
         -- The login reads the views of schema {schema_name} only (such as {schema_name}.leads): they run\n\
         -- with their owner's rights, so it never reads a base table nor another organization's rows.\n\
         -- Its password was generated below; keep it in your BI tool's secret store, change it\n\
         -- with `\\password {role_name}` in psql, and remove the login with DROP OWNED BY / DROP ROLE.\n\
         BEGIN;\n\
         CREATE ROLE {role} LOGIN PASSWORD {password} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;\n\
         GRANT CONNECT ON DATABASE {database} TO {role};\n\
         CREATE SCHEMA IF NOT EXISTS {schema};\n\
         REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;\n\
         COMMENT ON SCHEMA {schema} IS {comment};\n",
        role_name = r.role,
        slug = r.org_slug,
        id = r.org_id,
        password = literal(r.password),
        database = ident(r.database),
        comment = literal(&format!("Accord BI views of the organization {} ({})", r.org_slug, r.org_id)),
    );
    for view in r.views {
        let columns = r.columns.get(view).map(Vec::as_slice).unwrap_or_default();
        let hidden = !r.pii && columns.iter().any(|c| personal(view, c));
        let list = if hidden {
            // Dropped first: an older view with the personal columns cannot be replaced by one without.
            sql.push_str(&format!("DROP VIEW IF EXISTS {schema}.{};\n", ident(view)));
            columns.iter().filter(|c| !personal(view, c)).map(|c| ident(c)).collect::<Vec<_>>().join(", ")
        } else {
            "*".to_owned()
        };
        // security_barrier: the organization filter runs before any function the
        // login puts in its own WHERE clause, so nothing leaks other rows.
        sql.push_str(&format!(
            "CREATE OR REPLACE VIEW {schema}.{view} WITH (security_barrier) AS SELECT {list} FROM bi.{view} WHERE org_id = {org};\n",
            view = ident(view),
        ));
    }
    sql.push_str(&format!("GRANT USAGE ON SCHEMA {schema} TO {role};\n"));
    let qualified: Vec<String> = r.views.iter().map(|v| format!("{schema}.{}", ident(v))).collect();
    sql.push_str(&format!("GRANT SELECT ON {} TO {role};\n", qualified.join(", ")));
    // Other logins of the schema keep reading a view dropped and made again above.
    sql.push_str(&format!(
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE rolcanlogin AND NOT rolsuper \
         AND has_schema_privilege(oid, {schema_literal}, 'USAGE') LOOP \
         EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', {schema_literal}, r.rolname); END LOOP; END $$;\n",
        schema_literal = literal(&schema_name),
    ));
    sql.push_str("COMMIT;\n");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_identifiers() {
        assert!(crate::validate::sql_role_name("bi_acme"));
        assert!(crate::validate::sql_role_name("_x1"));
        for bad in ["", "1bi", "Bi", "bi-acme", "bi acme", "bi\"; DROP", "pg_monitor", &"a".repeat(64)] {
            assert!(!crate::validate::sql_role_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_role_reads_its_organizations_views_and_nothing_else() {
        let views = vec!["campaigns".to_owned(), "leads".to_owned()];
        let columns = std::collections::HashMap::from([
            ("campaigns".to_owned(), vec!["id".to_owned(), "org_id".to_owned(), "name".to_owned()]),
            ("leads".to_owned(), vec!["id".to_owned(), "org_id".to_owned(), "email".to_owned(), "title".to_owned()]),
        ]);
        let id = Uuid::nil();
        let sql = role_sql(&RoleRequest {
            role: "bi_acme",
            org_slug: "acme-eu",
            org_id: id,
            database: "accord",
            views: &views,
            password: "secret",
            columns: &columns,
            pii: false,
        });
        assert!(sql.contains("CREATE ROLE \"bi_acme\" LOGIN PASSWORD 'secret'"));
        assert!(sql.contains(
            "CREATE OR REPLACE VIEW \"bi_acme_eu\".\"leads\" WITH (security_barrier) AS SELECT \"id\", \"org_id\", \"title\" FROM bi.\"leads\" WHERE org_id = '00000000-0000-0000-0000-000000000000';"
        ));
        assert!(sql.contains(
            "CREATE OR REPLACE VIEW \"bi_acme_eu\".\"campaigns\" WITH (security_barrier) AS SELECT * FROM bi.\"campaigns\" WHERE"
        ));
        assert!(sql.contains("GRANT SELECT ON \"bi_acme_eu\".\"campaigns\", \"bi_acme_eu\".\"leads\" TO \"bi_acme\";"));
        let grants: Vec<&str> = sql.lines().filter(|l| l.starts_with("GRANT")).collect();
        assert!(grants.iter().all(|g| !g.contains(" bi.") && !g.contains("public")), "{grants:?}");
        assert_eq!(generate_password().len(), 32);
    }
}
