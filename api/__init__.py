"""The JSON API (docs/api.md): /api/v1/ for programs, and the Lago, Dolfin and
GoHighLevel payment shapes under /compat/. A door like the pages: it parses,
calls billing's services and selectors, and shapes the answer; no rule lives here.
"""
