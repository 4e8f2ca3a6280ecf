//! Pagination (API.md, Conventions): `?limit=` (default 50, max 500) and an
//! opaque `cursor`; answers are `{"items":[…],"next_cursor":…|null}`, newest
//! first. A cursor names the last item of a page by its sort key: a time (or
//! another integer) and a unique id to break ties. The SQL side is
//! [`crate::db::page`]; this module parses what the caller sent.

pub use crate::db::page::{Cursor, PageRequest, fetch};
use crate::http::error::{ApiError, ErrorCode};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

impl Cursor {
    /// 400 `invalid_query` for anything this relay did not issue.
    pub fn decode(raw: &str) -> Result<Cursor, ApiError> {
        let bad = || ApiError::new(ErrorCode::InvalidQuery, "cursor is not one this relay issued.");
        let bytes = fxe_protocol::encoding::b64u_decode("cursor", raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (time, id) = text.split_once(':').ok_or_else(bad)?;
        let id_ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(bad());
        }
        Ok(Cursor { time: time.parse().map_err(|_| bad())?, id: id.to_owned() })
    }
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::new(ErrorCode::InvalidQuery, format!("limit must be 1 to {MAX_LIMIT}.")));
        }
        Ok(PageRequest { limit, after: cursor.map(Cursor::decode).transpose()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::page::older_than;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = Cursor { time: 1_700_000_000_123, id: "ak_0123456789abcdef01234567".into() };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in [
            "",
            "!!",
            "bm90LWEtY3Vyc29y",
            &fxe_protocol::encoding::b64u_encode(b"12:a b"),
            &fxe_protocol::encoding::b64u_encode(b"x:abc"),
        ] {
            assert_eq!(Cursor::decode(bad).unwrap_err().code(), ErrorCode::InvalidQuery, "{bad}");
        }
    }

    #[test]
    fn limits_and_pages() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(501), None).is_err());
        let page = PageRequest::parse(Some(2), None).unwrap();
        assert_eq!(page.fetch(), 3);
        let (items, next) = page.finish(vec![3, 2, 1], |n| Cursor { time: *n, id: format!("id{n}") });
        assert_eq!(items, vec![3, 2]);
        assert_eq!(Cursor::decode(&next.unwrap()).unwrap(), Cursor { time: 2, id: "id2".into() });
        let (items, next) = page.finish(vec![1], |n| Cursor { time: *n, id: "x".into() });
        assert_eq!((items, next), (vec![1], None));
        assert_eq!(older_than("t", "id", 3), "(t < $3 OR (t = $3 AND id < $4))");
    }
}
