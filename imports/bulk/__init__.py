"""IMPORT ACCOUNTS: bulk imports of companies, products and users from a CSV or .xlsx file.

columns (what a file of each account type holds), files (reading and writing CSV and .xlsx),
checks (the whole file checked before anything is queued), services (the job it becomes),
rows (how the engine runs a company or user line; product lines are orders, run by imports.engine.runner),
views and forms (the page behind My imports' IMPORT ACCOUNTS button).
"""
