"""The company page's PROVISIONING tab and RECREATE PROVISIONING (issue 25): what a reseller sees of a
company's vendor link and vendor calls, and the button that re-sends its waiting or failed vendor
provisioning. Accounts owns the page and names the contribution points (accounts.company_page);
imports.company_page registers `tab.provisioning_tab` and `views.recreate_url`.

- `tab.py`: the tab's contents (the vendor link from the tenant subscriptions, the vendor calls paged);
- `recreate.py`: RECREATE PROVISIONING's rules (the service);
- `views.py`: its confirm page and POST (thin).
"""
