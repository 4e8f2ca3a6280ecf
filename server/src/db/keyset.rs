//! Keyset pages as the repositories take them: a newest-first listing
//! ordered by a time column then an id, continued strictly after the last
//! row of the previous page. (`crate::api::pagination` turns the API's
//! `limit` and `cursor` into one.)

use sqlx::{Any, any::AnyArguments, query::QueryAs};

/// Which rows of a newest-first listing a page holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyset {
    /// The `(time, id)` of the previous page's last row.
    pub after: Option<(i64, String)>,
    /// How many rows to fetch (one more than the page, to know whether there
    /// is a next one).
    pub rows: i64,
}

impl Keyset {
    /// `select` (a `SELECT … FROM … WHERE …` with placeholders up to
    /// `$first - 1`) continued after [`Keyset::after`], newest first by
    /// `time_col` then `id_col`; bind the page with [`Keyset::bind`].
    pub fn sql(&self, select: &str, (time_col, id_col): (&str, &str), first: usize) -> String {
        let mut sql = select.to_owned();
        if self.after.is_some() {
            let (t, i) = (first, first + 1);
            sql += &format!(" AND ({time_col} < ${t} OR ({time_col} = ${t} AND {id_col} < ${i}))");
        }
        sql += &format!(" ORDER BY {time_col} DESC, {id_col} DESC LIMIT {}", self.rows);
        sql
    }

    /// Binds [`Keyset::after`] to a query of [`Keyset::sql`], after its own binds.
    pub fn bind<'q, O>(
        &'q self,
        query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
        match &self.after {
            Some((time, id)) => query.bind(*time).bind(id.as_str()),
            None => query,
        }
    }
}

/// A listed item with the `(time, id)` it sorts by: the next page's
/// [`Keyset::after`] when it is the last of a page.
#[derive(Clone, Debug)]
pub struct Keyed<T> {
    pub key: (i64, String),
    pub item: T,
}
