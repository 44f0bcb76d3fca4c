//! A page of a list: what `LIMIT ? OFFSET ?` needs. The API layer parses it from the query.

/// A validated page request: `page` from 1, `per_page` items each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 25,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_page() {
        let page = Page {
            page: 3,
            per_page: 10,
        };
        assert_eq!((page.limit(), page.offset()), (10, 20));
    }
}
