"""The vendor outbox (issue 25): VendorOrder rows sent to the vendor's API. The engine's room."""
