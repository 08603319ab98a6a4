"""Orders > Upcoming: everything scheduled across a reseller's subtree in the next 7, 30 or 90 days
(listing: the address; selectors: the keyset page; views, export, api: the page, its download and
`GET /api/v1/upcoming/`)."""
