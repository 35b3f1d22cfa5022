"""The staff back office in the browser: function views per area.

Each view parses its input with a form, calls one selector (or, for actions, one
service) and renders through billing.views._htmx. docs/frontend.md describes the
conventions.
"""
