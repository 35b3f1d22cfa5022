"""The back office's action forms, one module per area as in billing/views/
(each view module imports its own): validation and normalisation only, never
a save (a view passes the cleaned data to a service). What they share, the
amount field first, is in fields.py; the list pages' filters are in
billing/filters.py."""
