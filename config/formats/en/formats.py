"""Input formats for English (the site's language, en-us): dates and times are read
in ISO 8601 only, so 01/02/26 is refused instead of being guessed as US
month/day. Display formats stay Django's (billing's pages format dates
themselves, as Y-m-d)."""

DATE_INPUT_FORMATS = ["%Y-%m-%d"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
]
