"""Cursor pagination, Stripe's way: ``limit``, ``starting_after`` (the last id of
the previous page), ``has_more``. A page costs the same queries whatever its
size or depth: billing.selectors.keyset_page, with the list's select_related."""

from billing import selectors


def cursor_page(queryset, query, render):
    page = selectors.keyset_page(
        queryset.order_by("-pk"), after=query.starting_after, size=query.limit
    )
    return {"object": "list", "data": [render(row) for row in page.rows], "has_more": page.has_next}


def list_of(schema):
    """The list envelope's schema for ``schema`` rows."""
    from ninja import Schema

    return type(
        f"{schema.__name__}List",
        (Schema,),
        {"__annotations__": {"object": str, "data": list[schema], "has_more": bool}},
    )
