"""The portal's tests that go through the Partner Center sandbox over real HTTP.

One sandbox process for the session (started on first use), the portal pointed at it with Microsoft on
(`vendor`), and its faults and provisioning delay put back after each test: the fixtures `vendor_sandbox`,
`vendor` and `sandbox_clock` live in tests/conftest.py (the browser walks use them too). Tests keep to
customers they create themselves (`vendor.customer()`), so they need no reset between them.
"""
