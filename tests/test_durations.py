"""packer.durations: the one place rule durations are parsed and spelled (content's `1h`, .NET
time spans, the API's ISO 8601)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from packer.durations import DurationError, canonical_iso8601, parse_duration, parse_iso8601, to_iso8601, to_short


@pytest.mark.parametrize("text, delta", [("5m", timedelta(minutes=5)), ("14d", timedelta(days=14)),
                                         ("01:00:00", timedelta(hours=1)), ("1.02:00:00", timedelta(hours=26)),
                                         ("5", timedelta(days=5))])
def test_content_durations_parse_as_microsofts_ci_reads_them(text, delta):
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["1w", "PT1H", "25:00:00", "", "1 h"])
def test_anything_else_is_a_duration_error(text):
    with pytest.raises(DurationError):
        parse_duration(text)


@pytest.mark.parametrize("text, delta", [("PT1H", timedelta(hours=1)), ("p1dt30m", timedelta(days=1, minutes=30)),
                                         ("PT0.5S", timedelta(seconds=0.5)), (" P14D ", timedelta(days=14))])
def test_iso8601_durations_parse(text, delta):
    assert parse_iso8601(text) == delta


@pytest.mark.parametrize("text", ["P1Y", "P1W", "1h", "PT", "P", "", "PT1H junk"])
def test_what_is_not_an_iso8601_day_time_duration_is_none(text):
    assert parse_iso8601(text) is None


@pytest.mark.parametrize("text, canonical", [("PT1440M", "P1D"), ("PT1.6S", "PT2S"), ("P0D", "PT0S"), ("PT0S", "PT0S"),
                                             ("1h", "1h")])
def test_canonical_spelling_rounds_to_the_second_and_leaves_other_text(text, canonical):
    assert canonical_iso8601(text) == canonical


@pytest.mark.parametrize("delta, short", [(timedelta(days=2), "2d"), (timedelta(hours=26), "26h"),
                                          (timedelta(minutes=90), "90m"), (timedelta(seconds=30), None),
                                          (timedelta(0), None)])
def test_short_spelling_is_the_largest_whole_unit(delta, short):
    assert to_short(delta) == short
    if short is not None:
        assert parse_duration(short) == delta and to_iso8601(short) == to_iso8601(delta)
