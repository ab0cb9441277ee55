//! PostgreSQL: rows for several tables and a final statement, written in one round trip.
//!
//! Each table's rows go in as one array parameter per column, `INSERT INTO t (a, b) SELECT *
//! FROM unnest($1, $2)`, so the statement's text does not depend on how many rows there
//! are and PostgreSQL prepares it once per connection. `unnest` reads its arrays in order,
//! so rows are inserted in the order given and a `serial` column (the outbox's `seq`)
//! numbers them in that order, as a multi-row `VALUES` did. The inserts are data-modifying
//! `WITH` queries in front of the final statement; all of it runs as one statement, with
//! one snapshot, in the caller's transaction (or as its own, in autocommit). A guarded
//! write puts its guard first: every insert runs only when the guard returned a row, and
//! the guard's rows are what the statement returns.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, HasSqlType};

/// One table's rows as `INSERT INTO table (columns) SELECT * FROM unnest(arrays)`.
pub(crate) struct Unnest {
    insert: &'static str,
    columns: Vec<Box<dyn QueryFragment<Pg> + Send + Sync>>,
}

impl Unnest {
    /// `insert` is `INSERT INTO table (a, b, …)`; add one [`Unnest::column`] per name, in
    /// order, each as long as the others. [`unnest!`] writes both from a row type's fields.
    pub(crate) fn new(insert: &'static str) -> Self {
        Unnest {
            insert,
            columns: Vec::new(),
        }
    }

    /// The next column's values, bound as one `ST[]` parameter.
    pub(crate) fn column<ST, T>(mut self, values: Vec<T>) -> Self
    where
        ST: 'static,
        Pg: HasSqlType<Array<ST>>,
        Vec<T>: ToSql<Array<ST>, Pg>,
        T: Send + Sync + 'static,
    {
        self.columns.push(Box::new(ArrayBind::<ST, T> {
            values,
            sql_type: PhantomData,
        }));
        self
    }
}

struct ArrayBind<ST, T> {
    values: Vec<T>,
    sql_type: PhantomData<fn() -> ST>,
}

impl<ST: 'static, T> QueryFragment<Pg> for ArrayBind<ST, T>
where
    Pg: HasSqlType<Array<ST>>,
    Vec<T>: ToSql<Array<ST>, Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<Array<ST>, Vec<T>>(&self.values)
    }
}

impl QueryFragment<Pg> for Unnest {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.insert);
        out.push_sql(" SELECT * FROM unnest(");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            column.walk_ast(out.reborrow())?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// One table's rows inserted on their own, kept prepared per connection under `Row`, the
/// row type whose `unnest` writes it (one text per row type, whatever the row count).
pub(crate) struct Insert<Row> {
    rows: Unnest,
    row: PhantomData<fn() -> Row>,
}

impl<Row> Insert<Row> {
    pub(crate) fn new(rows: Unnest) -> Self {
        Insert {
            rows,
            row: PhantomData,
        }
    }
}

impl<Row: 'static> QueryId for Insert<Row> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Row> QueryFragment<Pg> for Insert<Row> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.rows.walk_ast(out)
    }
}

/// `Unnest` for a `Vec` of rows, moved field by field into the columns: the table and, per
/// field, its SQL type; the column names are the field names. Used inside the row type's
/// module (the fields are private).
macro_rules! unnest {
    ($table:ident, $rows:expr, { $($field:ident: $st:ty),+ $(,)? }) => {{
        let rows = $rows;
        $(let mut $field = Vec::with_capacity(rows.len());)+
        for row in rows {
            $($field.push(row.$field);)+
        }
        $crate::pg_unnest::Unnest::new(concat!(
            "INSERT INTO ", stringify!($table), " (", stringify!($($field),+), ")"
        ))
        $(.column::<$st, _>($field))+
    }};
}
pub(crate) use unnest;

/// A statement written piece by piece, SQL text and scalar parameters in order, that
/// returns `ST`. diesel's own `UPDATE` is never kept prepared (`UpdateStatement` marks itself
/// unsafe to cache, since a changeset's `None`s may drop columns); this one is, when its
/// pieces are the same every time.
pub(crate) struct Statement<ST> {
    parts: Vec<Part>,
    sql_type: PhantomData<fn() -> ST>,
}

enum Part {
    Sql(&'static str),
    Bind(Box<dyn QueryFragment<Pg> + Send + Sync>),
}

impl<ST> Statement<ST> {
    pub(crate) fn new() -> Self {
        Statement {
            parts: Vec::new(),
            sql_type: PhantomData,
        }
    }

    pub(crate) fn sql(mut self, sql: &'static str) -> Self {
        self.parts.push(Part::Sql(sql));
        self
    }

    /// One parameter of SQL type `BST`.
    pub(crate) fn bind<BST, T>(mut self, value: T) -> Self
    where
        BST: 'static,
        Pg: HasSqlType<BST>,
        T: ToSql<BST, Pg> + Send + Sync + 'static,
    {
        self.parts.push(Part::Bind(Box::new(ScalarBind::<BST, T> {
            value,
            sql_type: PhantomData,
        })));
        self
    }
}

struct ScalarBind<ST, T> {
    value: T,
    sql_type: PhantomData<fn() -> ST>,
}

impl<ST, T> QueryFragment<Pg> for ScalarBind<ST, T>
where
    Pg: HasSqlType<ST>,
    T: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, T>(&self.value)
    }
}

impl<ST> Query for Statement<ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for Statement<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for part in &self.parts {
            match part {
                Part::Sql(sql) => out.push_sql(sql),
                Part::Bind(bind) => bind.walk_ast(out.reborrow())?,
            }
        }
        Ok(())
    }
}

/// `WITH w0 AS (insert), w1 AS (insert), … then`: one statement. `Shape` names it in the
/// connection's prepared-statement cache, so one call site must use its own `Shape` and
/// always the same number of inserts (empty ones included), in the same order. It is kept
/// prepared only if `then` is safe to cache (a [`Statement`], not diesel's `UPDATE`).
pub(crate) struct WithInserts<Shape, Q> {
    guard: Option<Q>,
    inserts: Vec<Unnest>,
    then: Q,
    shape: PhantomData<fn() -> Shape>,
}

impl<Shape, Q> WithInserts<Shape, Q> {
    pub(crate) fn new(inserts: Vec<Unnest>, then: Q) -> Self {
        WithInserts {
            guard: None,
            inserts,
            then,
            shape: PhantomData,
        }
    }
}

impl<Shape, ST> WithInserts<Shape, Statement<ST>> {
    /// `WITH g AS (guard), w0 AS (insert, only if g has a row), … SELECT * FROM g`: the
    /// inserts happen only when `guard` (an `UPDATE … RETURNING`) matched a row, and the
    /// statement answers what it returned. One statement, so even outside a transaction
    /// it writes all of it or nothing.
    pub(crate) fn guarded(guard: Statement<ST>, inserts: Vec<Unnest>) -> Self {
        WithInserts {
            guard: Some(guard),
            inserts,
            then: Statement::new().sql("SELECT * FROM g"),
            shape: PhantomData,
        }
    }
}

impl<Shape: 'static, Q> QueryId for WithInserts<Shape, Q> {
    type QueryId = Shape;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Shape, Q: Query> Query for WithInserts<Shape, Q> {
    type SqlType = Q::SqlType;
}

impl<Shape, Q: QueryFragment<Pg>> QueryFragment<Pg> for WithInserts<Shape, Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if let Some(guard) = &self.guard {
            out.push_sql("WITH g AS (");
            guard.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        for (i, insert) in self.inserts.iter().enumerate() {
            let first = i == 0 && self.guard.is_none();
            out.push_sql(if first { "WITH " } else { ", " });
            out.push_sql(&format!("w{i} AS ("));
            insert.walk_ast(out.reborrow())?;
            if self.guard.is_some() {
                out.push_sql(" WHERE EXISTS (SELECT 1 FROM g)");
            }
            out.push_sql(")");
        }
        if self.guard.is_some() || !self.inserts.is_empty() {
            out.push_sql(" ");
        }
        self.then.walk_ast(out.reborrow())
    }
}
