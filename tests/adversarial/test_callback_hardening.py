"""Callback hardening (issue 12 point 5), probed through the HTTP route of the stack in moto with
callbacks signed by wechatpy (an implementation no one here wrote):

- no DTD or entity declaration gets near a parser in any encoding: BOM-less UTF-16 LE/BE and
  UTF-32, an `encoding="utf-16"` declaration, billion laughs outside and inside the encrypted XML
  are 400 before any XML parser runs, with nothing stored or queued;
- a signed timestamp 11 minutes old or 11 minutes ahead of the process clock is 403 with the reason
  logged, and a replay after its dedup record expired is refused by freshness, not accepted again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from wechatpy.work.crypto import WeChatCrypto

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NONCE = "1372623149"
SECRET_TEXT = "机密内容-do-not-log"
TEXT_XML = (
    "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
    "<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
    "<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
)
LAUGHS = ('<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
          '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>')


@pytest.fixture
def clock(local_stack):
    from wecom_oa.clock import ManualClock, set_clock

    manual = ManualClock(T0)
    set_clock(manual)  # fresh_settings (under local_stack) puts the configured clock back
    return manual


@pytest.fixture
def wecom(local_stack, clock):
    """The WeCom side: wechatpy with the stack's app identity."""
    from wecom_oa.wiring import wecom_credentials

    creds = wecom_credentials()
    return WeChatCrypto(creds.token, creds.encoding_aes_key, creds.corp_id), creds.corp_id


@pytest.fixture
def parsers():
    """Spies on every XML parser the callback path can reach: none may run for a refused body."""
    from wecom_oa.wecom import crypto

    calls: list[str] = []
    c_parser, defused = crypto.XMLParser, crypto._safe_fromstring

    def c_spy(*args, **kwargs):
        calls.append("expat")
        return c_parser(*args, **kwargs)

    def defused_spy(*args, **kwargs):
        calls.append("defusedxml")
        return defused(*args, **kwargs)

    with mock.patch.object(crypto, "XMLParser", c_spy), mock.patch.object(crypto, "_safe_fromstring", defused_spy):
        yield calls


def _seal(wecom, plaintext: str, timestamp: int) -> tuple[str, str]:
    """(Encrypt, msg_signature) made by wechatpy for `plaintext` signed at `timestamp`."""
    crypto, _ = wecom
    reply = crypto.encrypt_message(plaintext, NONCE, str(timestamp))
    root = ElementTree.fromstring(reply)
    return root.findtext("Encrypt"), root.findtext("MsgSignature")


def _envelope(corp: str, encrypt: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            "<AgentID><![CDATA[1000002]]></AgentID></xml>")


def _text(wecom, *, ts: int, msg_id: str = "7380000000000000001", content: str = "报修：空压机漏气") -> str:
    return TEXT_XML.format(corp=wecom[1], ts=ts, content=content, msg_id=msg_id)


def _post(stack, body: bytes, signature: str, timestamp: int) -> dict:
    query = urlencode({"msg_signature": signature, "timestamp": str(timestamp), "nonce": NONCE})
    return stack.http("POST", "/wecom/callback", body=body, query=query, headers={"content-type": "text/xml"})


def _stored(stack) -> list[dict]:
    items = stack.client("dynamodb").scan(TableName=stack.physical["AppTable"]["Ref"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith("EVENT#")]


def _queued(stack) -> int:
    attrs = stack.client("sqs").get_queue_attributes(QueueUrl=stack.physical["EventsQueue"]["Ref"],
                                                     AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _nothing_kept(stack) -> bool:
    return _stored(stack) == [] and _queued(stack) == 0


# --- DTDs and entities, in every encoding -------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"])
def test_given_unsigned_billion_laughs_in_a_wide_encoding_when_posted_then_400_before_any_parser(
        local_stack, wecom, parsers, encoding) -> None:
    # Given the probe's body: an entity bomb in UTF-16/32 (with and without a byte-order mark)
    body = f'<?xml version="1.0" encoding="{encoding[:6].upper()}"?>{LAUGHS}<xml><Encrypt>&e;</Encrypt></xml>'
    # When it is posted unsigned
    resp = _post(local_stack, body.encode(encoding), "0" * 40, int(T0.timestamp()))
    # Then it is refused as input before any XML parser saw it, and nothing is kept
    assert resp["statusCode"] == 400, resp
    assert parsers == []
    assert _nothing_kept(local_stack)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_given_a_validly_signed_envelope_in_bom_less_wide_encoding_when_posted_then_400(
        local_stack, wecom, parsers, encoding) -> None:
    # Given a genuine, correctly signed callback whose outer XML is re-encoded without a BOM
    ts = int(T0.timestamp())
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts), ts)
    # When posted
    resp = _post(local_stack, _envelope(wecom[1], encrypt).encode(encoding), signature, ts)
    # Then: WeCom sends UTF-8; anything else is refused unparsed
    assert resp["statusCode"] == 400 and "UTF" in resp["body"], resp
    assert parsers == []
    assert _nothing_kept(local_stack)


def test_given_a_utf16_declaration_on_a_signed_utf8_envelope_when_posted_then_400(local_stack, wecom, parsers) -> None:
    ts = int(T0.timestamp())
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts), ts)
    body = '<?xml version="1.0" encoding="utf-16"?>' + _envelope(wecom[1], encrypt)

    resp = _post(local_stack, body.encode(), signature, ts)

    assert resp["statusCode"] == 400 and "encoding" in resp["body"], resp
    assert parsers == []
    assert _nothing_kept(local_stack)


@pytest.mark.parametrize("declaration", [
    '<!DOCTYPE xml SYSTEM "file:///etc/passwd">',
    "<!doctype xml>",
    '<!ENTITY a "x">',
    "<!-- <![CDATA[ --><!DOCTYPE xml>",  # a CDATA opener inside a comment hides nothing
])
def test_given_any_declaration_in_the_outer_body_when_posted_then_400_unparsed(
        local_stack, wecom, parsers, declaration) -> None:
    ts = int(T0.timestamp())
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts), ts)

    resp = _post(local_stack, (declaration + _envelope(wecom[1], encrypt)).encode(), signature, ts)

    assert resp["statusCode"] == 400, resp
    assert parsers == []
    assert _nothing_kept(local_stack)


@pytest.mark.parametrize("inner", [
    pytest.param(lambda xml: LAUGHS + xml.replace("<![CDATA[报修：空压机漏气]]>", "&e;"), id="billion-laughs"),
    pytest.param(lambda xml: '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 + xml.replace("<![CDATA[报修：空压机漏气]]>", "&x;"), id="external-entity"),
    pytest.param(lambda xml: "<?pi <![CDATA[ ?>" + LAUGHS + xml.replace("报修：空压机漏气", "&e;]]>"),
                 id="cdata-opener-in-a-pi"),
    pytest.param(lambda xml: '<?xml version="1.0" encoding="UTF-16"?>' + xml, id="utf16-declaration"),
    pytest.param(lambda xml: "".join(ch + "\x00" for ch in xml), id="utf16-le-text-inside"),
])
def test_given_a_hostile_inner_xml_signed_by_wecoms_side_when_posted_then_400_and_nothing_stored(
        local_stack, wecom, parsers, inner) -> None:
    # Given a correctly signed and encrypted callback whose decrypted XML carries a DTD (or is not UTF-8 XML)
    ts = int(T0.timestamp())
    encrypt, signature = _seal(wecom, inner(_text(wecom, ts=ts)), ts)
    # When posted
    resp = _post(local_stack, _envelope(wecom[1], encrypt).encode(), signature, ts)
    # Then the outer envelope was parsed (once) but the inner XML never reached a parser
    assert resp["statusCode"] == 400, resp
    assert parsers == ["expat"]
    assert _nothing_kept(local_stack)


def test_given_doctype_as_chat_text_in_cdata_when_posted_then_accepted(local_stack, wecom) -> None:
    # A member may type `<!DOCTYPE html>`: in the decrypted XML it is CDATA text, not markup.
    ts = int(T0.timestamp())
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts, content="<!DOCTYPE html><p>打不开</p>"), ts)

    resp = _post(local_stack, _envelope(wecom[1], encrypt).encode(), signature, ts)

    assert resp["statusCode"] == 200, resp
    assert len(_stored(local_stack)) == 1


# --- freshness of the signed timestamp ----------------------------------------------------------


def _rejections(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "callback rejected"]


@pytest.mark.parametrize("skew", [-660, 660], ids=["11-min-old", "11-min-ahead"])
def test_given_a_signed_timestamp_11_minutes_off_when_posted_then_403_with_the_reason_logged(
        local_stack, wecom, caplog, capfd, skew) -> None:
    # Given a genuine callback, correctly signed by wechatpy, at a timestamp 11 minutes from the clock
    ts = int(T0.timestamp()) + skew
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts, content=SECRET_TEXT), ts)
    caplog.set_level(logging.INFO)
    # When posted
    resp = _post(local_stack, _envelope(wecom[1], encrypt).encode(), signature, ts)
    # Then 403, the reason is logged (the skew, not the plaintext), and nothing is kept
    assert resp["statusCode"] == 403, resp
    [record] = _rejections(caplog)
    assert record.check == "StaleTimestampError" and "window is ±600 s" in record.reason
    assert ("660 s old" if skew < 0 else "660 s in the future") in record.reason
    out, err = capfd.readouterr()
    assert SECRET_TEXT not in out + err + caplog.text and encrypt not in out + err + caplog.text
    assert _nothing_kept(local_stack)


@pytest.mark.parametrize("skew", [-540, 540], ids=["9-min-old", "9-min-ahead"])
def test_given_a_signed_timestamp_inside_the_window_when_posted_then_accepted(local_stack, wecom, skew) -> None:
    ts = int(T0.timestamp()) + skew
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts), ts)

    assert _post(local_stack, _envelope(wecom[1], encrypt).encode(), signature, ts)["statusCode"] == 200
    assert len(_stored(local_stack)) == 1 and _queued(local_stack) == 1


def test_given_a_stale_url_verification_when_requested_then_403(local_stack, wecom) -> None:
    crypto, _ = wecom
    ts = int(T0.timestamp()) - 660
    # wechatpy encrypts the echo as a passive reply; its Encrypt is what WeCom puts in echostr
    echostr, signature = _seal(wecom, "5927782489442352469", ts)
    query = urlencode({"msg_signature": signature, "timestamp": str(ts), "nonce": NONCE, "echostr": echostr})

    assert local_stack.http("GET", "/wecom/callback", query=query)["statusCode"] == 403
    fresh_echo, fresh_signature = _seal(wecom, "5927782489442352469", int(T0.timestamp()))
    query = urlencode({"msg_signature": fresh_signature, "timestamp": str(int(T0.timestamp())), "nonce": NONCE,
                       "echostr": fresh_echo})
    assert local_stack.http("GET", "/wecom/callback", query=query)["body"] == "5927782489442352469"


def test_given_a_delivered_callback_when_replayed_after_its_dedup_record_expired_then_refused_as_stale(
        local_stack, wecom, clock) -> None:
    from wecom_oa.settings import get_settings

    # Given a callback delivered once (stored, queued), then replayed within the window: a duplicate
    ts = int(T0.timestamp())
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts), ts)
    body = _envelope(wecom[1], encrypt).encode()
    assert _post(local_stack, body, signature, ts)["statusCode"] == 200
    clock.advance(590)
    assert _post(local_stack, body, signature, ts)["statusCode"] == 200
    assert len(_stored(local_stack)) == 1 and _queued(local_stack) == 1
    # When its dedup record expires (DynamoDB TTL deletes it; moto does not, so the test does) and the
    # same request is replayed byte for byte
    [record] = _stored(local_stack)
    assert int(record["expires_at"]["N"]) == ts + get_settings().callback_dedup_ttl_seconds
    local_stack.client("dynamodb").delete_item(TableName=local_stack.physical["AppTable"]["Ref"],
                                               Key={"pk": record["pk"], "sk": record["sk"]})
    clock.set(datetime.fromtimestamp(int(record["expires_at"]["N"]) + 1, UTC))
    resp = _post(local_stack, body, signature, ts)
    # Then freshness refuses it: no second event, no second ticket
    assert resp["statusCode"] == 403 and "window" in resp["body"], resp
    assert _stored(local_stack) == [] and _queued(local_stack) == 1



def test_given_a_fast_forwarded_local_clock_when_real_delay_spans_the_window_then_still_fresh(
        local_stack, wecom) -> None:
    import time

    from wecom_oa.clock import VirtualClock, get_clock, set_clock

    # Given local mode's scaled clock (1 real second = 1000 virtual seconds) and a callback signed now
    set_clock(VirtualClock(T0, scale=1e-3))
    ts = int(get_clock().now().timestamp())
    encrypt, signature = _seal(wecom, _text(wecom, ts=ts), ts)
    # When a real second passes before it arrives (over 600 s of virtual time)
    time.sleep(1.0)
    # Then the window, which bounds real delay, is stretched by the scale: accepted
    assert _post(local_stack, _envelope(wecom[1], encrypt).encode(), signature, ts)["statusCode"] == 200
    assert len(_stored(local_stack)) == 1
