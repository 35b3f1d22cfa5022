"""Exit 0 when the PostgreSQL server of DATABASE_URL answers, 1 otherwise.

Tries for a few seconds, so a server that is still starting is not missed.
"""

import os
import sys
import time

import dj_database_url
import psycopg


def main():
    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    params = dict(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        connect_timeout=3,
    )
    for _ in range(5):
        try:
            psycopg.connect(**params).close()
            return 0
        except psycopg.OperationalError as error:
            last = error
            time.sleep(1)
    print(f"PostgreSQL not reachable: {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
