"""The company page's action bar: TERMINATE, EXPORT and CREDENTIALS TO ALL USERS (services, the
export's content, views). + NEW is imports' (it checks a new company or user as a bulk import's line
is checked) and NEW SERVICE is orders'; both reach the page through accounts.company_page."""
