//! Offset paging shared by listings.

use serde::{Deserialize, Serialize};

/// Page size when a listing's `limit` is not given.
pub fn default_page_limit() -> u32 {
    100
}

/// `?offset=&limit=` of an offset-paged listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct Page {
    #[serde(default)]
    pub offset: u32,
    #[serde(default = "default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100))]
    pub limit: u32,
}

impl Page {
    /// The next page's offset when this page came back full.
    pub fn next_offset(&self, returned: usize) -> Option<u32> {
        (returned == self.limit as usize).then(|| self.offset.saturating_add(self.limit))
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: default_page_limit(),
        }
    }
}
