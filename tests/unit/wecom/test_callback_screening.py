"""The callback's pre-parse screen (`screen_xml`), its freshness check (`check_freshness`), the
settings rule tying the dedup TTL to the window, and Tencent's vectors verified at their own time."""

from __future__ import annotations

import codecs

import pytest

from wecom_oa.errors import ConfigurationError, Forbidden
from wecom_oa.wecom.crypto import (
    StaleTimestampError,
    UnsafeXmlError,
    WeComCrypto,
    check_freshness,
    safe_fromstring,
    screen_xml,
)
from wecom_oa.wecom.parser import MalformedEvent, parse_event

DOC = "<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>"


# --- screen_xml ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    DOC, DOC.encode(), codecs.BOM_UTF8 + DOC.encode(), "\ufeff" + DOC,
    '<?xml version="1.0" encoding="UTF-8"?>' + DOC, "<?xml version='1.0' encoding='utf8'?>" + DOC,
    '<?xml version="1.0"?>' + DOC, "<!-- a comment -->" + DOC,
])
def test_given_plain_utf8_xml_when_screened_then_passed_as_text(data) -> None:
    assert screen_xml(data).endswith(DOC)
    assert safe_fromstring(data).findtext("Encrypt") == "abc"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"])
def test_given_a_wide_encoding_with_or_without_bom_when_screened_then_refused(encoding) -> None:
    with pytest.raises(UnsafeXmlError):
        screen_xml(DOC.encode(encoding))


@pytest.mark.parametrize(("data", "rule"), [
    (b"\xff\xfe<\x00x\x00", "not UTF-8"),
    ("<x\x00ml/>", "NUL"),
    ('<?xml version="1.0" encoding="UTF-16"?>' + DOC, "encoding other than UTF-8"),
    ('<?xml version="1.0" encoding="latin-1"?>' + DOC, "encoding other than UTF-8"),
    ('<?xml encoding="gbk"' + DOC, "encoding other than UTF-8"),  # unterminated declaration
])
def test_given_bytes_wecom_never_sends_when_screened_then_refused_naming_the_rule(data, rule) -> None:
    with pytest.raises(UnsafeXmlError, match=rule):
        screen_xml(data)


@pytest.mark.parametrize("doc", [
    '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml>&a;</xml>',
    "<!doctype xml><xml/>",
    "<!ENTITY a 'b'><xml/>",
    "<!ELEMENT xml ANY><xml/>",
    "<!-- <![CDATA[ --><!DOCTYPE xml><xml/>",
    "<?pi <![CDATA[ ?><!DOCTYPE xml [<!ENTITY a 'x'>]><xml>&a;]]></xml>",
    "<xml><![CDATA[unterminated <!DOCTYPE x></xml>",
    "<!-- unterminated <!DOCTYPE x><xml/>",
])
@pytest.mark.parametrize("text_in_sections", [False, True])
def test_given_a_declaration_outside_sections_when_screened_then_refused_in_both_modes(doc, text_in_sections) -> None:
    with pytest.raises(UnsafeXmlError, match="DTD or entity declaration"):
        screen_xml(doc, text_in_sections=text_in_sections)


@pytest.mark.parametrize("doc", [
    "<xml><Content><![CDATA[<!DOCTYPE html><p>hi</p>]]></Content></xml>",
    "<xml><!-- <!ENTITY in a comment --><a/></xml>",
])
def test_given_declaration_text_inside_cdata_or_comment_when_screened_then_only_section_mode_accepts(doc) -> None:
    with pytest.raises(UnsafeXmlError):
        screen_xml(doc)
    assert screen_xml(doc, text_in_sections=True) == doc
    assert safe_fromstring(doc, text_in_sections=True).tag == "xml"


def test_given_a_screen_pass_with_doctype_text_in_cdata_then_defusedxml_parses_it(monkeypatch) -> None:
    from wecom_oa.wecom import crypto

    calls: list[str] = []
    real = crypto._safe_fromstring
    monkeypatch.setattr(crypto, "_safe_fromstring", lambda *a, **k: calls.append("defused") or real(*a, **k))
    doc = "<xml><Content><![CDATA[<!DOCTYPE html>]]></Content></xml>"
    assert safe_fromstring(doc, text_in_sections=True).findtext("Content") == "<!DOCTYPE html>"
    assert calls == ["defused"]


def test_given_a_hostile_inner_xml_when_parsed_then_malformed_event_names_the_rule() -> None:
    with pytest.raises(MalformedEvent, match="refused: XML contains a DTD"):
        parse_event('<!DOCTYPE xml [<!ENTITY a "x">]><xml><MsgType>text</MsgType><Content>&a;</Content></xml>')
    with pytest.raises(MalformedEvent, match="refused: XML contains NUL"):
        parse_event("".join(ch + "\x00" for ch in "<xml><MsgType>text</MsgType></xml>"))


def test_screening_is_linear_on_many_unterminated_sections() -> None:
    import time

    doc = "<xml>" + "<?a " * 20_000
    start = time.perf_counter()
    with pytest.raises(UnsafeXmlError):
        screen_xml(doc + "<!DOCTYPE x>", text_in_sections=True)
    assert time.perf_counter() - start < 0.5


# --- check_freshness ----------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-600, -1, 0, 1, 600])
def test_given_a_timestamp_inside_the_window_when_checked_then_accepted(skew) -> None:
    check_freshness(str(1_800_000_000 + skew), 1_800_000_000.9, 600)


@pytest.mark.parametrize(("timestamp", "reason"), [
    ("1799999399", "601 s old"), ("1800000601", "601 s in the future"), ("1", "s old"),
    ("", "not a unix time"), ("-5", "not a unix time"), ("1e9", "not a unix time"), ("１８００", "not a unix time"),
    ("9" * 5000, "not a unix time"),
])
def test_given_a_timestamp_outside_the_window_or_not_a_time_when_checked_then_403(timestamp, reason) -> None:
    with pytest.raises(StaleTimestampError, match=reason) as caught:
        check_freshness(timestamp, 1_800_000_000, 600)
    assert isinstance(caught.value, Forbidden) and caught.value.status == 403


def _verify_at(v: dict, fresh_at: int) -> str:
    crypto = WeComCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
    q = v["query_params_decoded"]
    if "echostr" in q:
        return crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"], fresh_at=fresh_at)
    return crypto.decrypt_callback(q["msg_signature"], q["timestamp"], q["nonce"], v["http_body"], fresh_at=fresh_at)


def _fresh_at_its_own_time_only(v: dict, expected: str) -> None:
    # The samples are signed in 2014/2016: they verify with the check on at the vector's time, not
    # because freshness is skipped, and are stale a second past the window either way.
    at = int(v["query_params_decoded"]["timestamp"])
    assert _verify_at(v, at) == expected
    assert _verify_at(v, at + 600) == expected and _verify_at(v, at - 600) == expected
    for off in (at + 601, at - 601):
        with pytest.raises(StaleTimestampError):
            _verify_at(v, off)


def test_given_tencents_post_vectors_when_checked_at_their_own_time_then_they_verify(official_post) -> None:
    _fresh_at_its_own_time_only(official_post, official_post["expected_decrypted_xml"])


def test_given_tencents_get_vectors_when_checked_at_their_own_time_then_they_verify(official_get) -> None:
    _fresh_at_its_own_time_only(official_get, official_get["expected_plaintext"])


# --- settings -----------------------------------------------------------------------------------


def test_given_no_settings_then_the_window_is_600_s_and_the_dedup_record_outlives_it() -> None:
    from wecom_oa.settings import Settings

    s = Settings.from_environ({})
    assert s.callback_timestamp_window_seconds == 600
    assert s.callback_dedup_ttl_seconds > 2 * s.callback_timestamp_window_seconds


@pytest.mark.parametrize(("env", "problem"), [
    ({"CALLBACK_TIMESTAMP_WINDOW_SECONDS": "86400", "CALLBACK_DEDUP_TTL_SECONDS": "172800"}, "twice"),
    ({"CALLBACK_TIMESTAMP_WINDOW_SECONDS": "50000", "CALLBACK_DEDUP_TTL_SECONDS": "86400"}, "twice"),
    ({"CALLBACK_TIMESTAMP_WINDOW_SECONDS": "30"}, "CALLBACK_TIMESTAMP_WINDOW_SECONDS"),
    ({"CALLBACK_TIMESTAMP_WINDOW_SECONDS": "100000"}, "CALLBACK_TIMESTAMP_WINDOW_SECONDS"),
])
def test_given_a_dedup_ttl_that_a_replay_could_outlast_when_loaded_then_configuration_error(env, problem) -> None:
    from wecom_oa.settings import Settings

    with pytest.raises(ConfigurationError, match=problem):
        Settings.from_environ(env)


def test_given_a_wider_window_with_a_longer_ttl_when_loaded_then_accepted() -> None:
    from wecom_oa.settings import Settings

    s = Settings.from_environ({"CALLBACK_TIMESTAMP_WINDOW_SECONDS": "86400", "CALLBACK_DEDUP_TTL_SECONDS": "172801"})
    assert s.callback_timestamp_window_seconds == 86400
