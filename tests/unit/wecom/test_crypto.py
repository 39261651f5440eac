"""WeComCrypto against Tencent's sample values, wechatpy-made vectors, wechatpy itself, and every error path."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.parse
from xml.etree import ElementTree

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.work.crypto import WeChatCrypto

from wecom_oa import errors
from wecom_oa.wecom.crypto import (
    ComputeSignatureError,
    DecodeBase64Error,
    DecryptAESError,
    EncodeBase64Error,
    EncryptAESError,
    GenReturnXmlError,
    IllegalAesKey,
    IllegalBuffer,
    ParseXmlError,
    ValidateReceiveIdError,
    ValidateSignatureError,
    WeComCrypto,
    WeComCryptoError,
    text_reply,
    update_button_reply,
)
from wecom_oa.wecom.parser import parse_event

TOKEN = "unitT0ken"
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "ww1436e0e65a779aee"
TS, NONCE = "1718006400", "1372623149"


def crypto_for(v: dict) -> WeComCrypto:
    return WeComCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, KEY, CORP)


@pytest.fixture
def theirs() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, KEY, CORP)


def signed_body(c: WeComCrypto, encrypt: str) -> tuple[str, str]:
    """(msg_signature, body) for an arbitrary Encrypt value, signed correctly."""
    return c.signature(TS, NONCE, encrypt), f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"


def encrypt_raw(buf: bytes) -> str:
    """AES-CBC of an arbitrary (block-aligned) buffer under KEY, bypassing our packing and padding."""
    key = base64.b64decode(KEY + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(buf) + enc.finalize()).decode()


def packed(msg: bytes, receive_id: bytes = CORP.encode(), *, n: int | None = None) -> bytes:
    body = b"R" * 16 + (len(msg) if n is None else n).to_bytes(4, "big") + msg + receive_id
    pad = 32 - len(body) % 32
    return body + bytes([pad]) * pad


# --- official sample values (Tencent) -------------------------------------------------------------


def test_given_official_get_vector_when_verify_url_then_echo_plaintext(official_get: dict) -> None:
    q = official_get["query_params_decoded"]

    echo = crypto_for(official_get).verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])

    assert echo == official_get["expected_plaintext"]


def test_given_official_raw_query_form_decoded_when_verify_url_then_plus_restored(official_get: dict) -> None:
    # parse_qs applies form decoding: '+' in the echostr becomes ' ' (pitfall §6.2).
    q = {k: v[0] for k, v in urllib.parse.parse_qs(official_get["raw_query_string"].replace("%2B", "+")).items()}
    assert " " in q["echostr"]

    echo = crypto_for(official_get).verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])

    assert echo == official_get["expected_plaintext"]


def test_given_official_post_vector_when_decrypt_callback_then_expected_xml(official_post: dict) -> None:
    q = official_post["query_params_decoded"]

    for body in (official_post["http_body"], official_post["http_body"].encode()):
        xml = crypto_for(official_post).decrypt_callback(q["msg_signature"], q["timestamp"], q["nonce"], body)
        assert xml == official_post["expected_decrypted_xml"]


def test_given_official_post_vector_when_reencrypted_with_its_prefix_then_identical_ciphertext(
    official_post: dict,
) -> None:
    c = crypto_for(official_post)
    q = official_post["query_params_decoded"]

    encrypt = c.encrypt_b64(
        official_post["expected_decrypted_xml"], random_prefix=official_post["random_prefix_ascii"].encode()
    )

    assert encrypt == official_post["encrypt"]
    assert c.signature(q["timestamp"], q["nonce"], encrypt) == q["msg_signature"]


def test_given_official_post_when_parsed_then_text_message_like_wechatpy(official_post: dict) -> None:
    expected = official_post["wechatpy_parse_message_result"]["wechatpy 2.0.0a26 (wechatpy.work.parse_message)"]

    event = parse_event(official_post["expected_decrypted_xml"])

    assert event.kind == expected["type"] == "text"


# --- vectors made by wechatpy (tests/fixtures/wecom_vectors) ----------------------------------------


def test_given_wechatpy_post_vector_when_decrypt_callback_then_expected_xml(wechatpy_post: dict) -> None:
    q = wechatpy_post["query_params_decoded"]

    xml = crypto_for(wechatpy_post).decrypt_callback(
        q["msg_signature"], q["timestamp"], q["nonce"], wechatpy_post["http_body"]
    )

    assert xml == wechatpy_post["expected_decrypted_xml"]
    assert parse_event(xml).kind != "unknown"


def test_given_wechatpy_post_vector_when_reencrypted_then_identical_ciphertext(wechatpy_post: dict) -> None:
    encrypt = crypto_for(wechatpy_post).encrypt_b64(
        wechatpy_post["expected_decrypted_xml"], random_prefix=wechatpy_post["random_prefix_ascii"].encode()
    )

    assert encrypt == wechatpy_post["encrypt"]


def test_given_wechatpy_get_vector_when_verify_url_from_raw_query_then_echo(wechatpy_get: dict) -> None:
    q = dict(urllib.parse.parse_qsl(wechatpy_get["raw_query_string"]))

    echo = crypto_for(wechatpy_get).verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])

    assert echo == wechatpy_get["expected_plaintext"]


def test_given_wechatpy_vectors_then_pad32_edge_case_is_covered(wechatpy_vectors: list[dict]) -> None:
    assert any(v["padding_length"] == 32 and "expected_error" not in v for v in wechatpy_vectors)
    assert {v["expected_error"] for v in wechatpy_vectors if "expected_error" in v} == {-40001, -40005}


def test_given_bad_wechatpy_vector_when_decrypt_callback_then_its_official_code(wechatpy_post_bad: dict) -> None:
    q = wechatpy_post_bad["query_params_decoded"]

    with pytest.raises(WeComCryptoError) as info:
        crypto_for(wechatpy_post_bad).decrypt_callback(
            q["msg_signature"], q["timestamp"], q["nonce"], wechatpy_post_bad["http_body"]
        )

    assert info.value.wecom_code == wechatpy_post_bad["expected_error"]
    assert isinstance(info.value, errors.Forbidden)


# --- wechatpy decrypts what we produce ------------------------------------------------------------


@pytest.mark.parametrize("name", ["text", "text_zh_emoji", "approval_change_multi", "card_click_option_ids"])
def test_given_our_reply_when_wechatpy_decrypts_then_same_plaintext(
    ours: WeComCrypto, theirs: WeChatCrypto, event_xml, name: str
) -> None:
    plaintext = event_xml(name)

    reply = ours.encrypt(plaintext, nonce=NONCE, timestamp=TS)
    sig = ElementTree.fromstring(reply).findtext("MsgSignature")

    assert theirs.decrypt_message(reply, sig, TS, NONCE) == plaintext


def test_given_our_callback_when_wechatpy_and_we_decrypt_then_same_plaintext(
    ours: WeComCrypto, theirs: WeChatCrypto, event_xml
) -> None:
    plaintext = event_xml("card_click_button")

    cb = ours.encrypt_callback(plaintext, timestamp=TS, nonce=NONCE, agent_id="1000002")

    assert theirs.decrypt_message(cb.body, cb.msg_signature, cb.timestamp, cb.nonce) == plaintext
    assert ours.decrypt_callback(cb.msg_signature, cb.timestamp, cb.nonce, cb.body) == plaintext


def test_given_our_echo_when_wechatpy_checks_signature_then_plaintext(
    ours: WeComCrypto, theirs: WeChatCrypto
) -> None:
    echostr = ours.encrypt_b64("1616140317555161061")

    assert theirs.check_signature(ours.signature(TS, NONCE, echostr), TS, NONCE, echostr) == "1616140317555161061"


def test_given_pad32_plaintext_when_encrypted_then_full_pad_block_and_roundtrip(
    ours: WeComCrypto, theirs: WeChatCrypto
) -> None:
    msg = "x" * (64 - 20 - len(CORP))  # 20 + msg + receive id = 64 bytes

    encrypt = ours.encrypt_b64(msg, random_prefix=b"0123456789abcdef")

    assert len(base64.b64decode(encrypt)) == 96
    assert ours.decrypt(encrypt) == msg
    assert theirs.check_signature(ours.signature(TS, NONCE, encrypt), TS, NONCE, encrypt) == msg


# --- passive replies --------------------------------------------------------------------------------


def test_given_text_reply_with_cdata_terminator_when_built_then_xml_keeps_content(theirs: WeChatCrypto) -> None:
    content = "已收到 ]]> <b>&amp; 👍"

    xml = text_reply(to_user="zhangsan", from_corp=CORP, create_time=1718006400, content=content)
    root = ElementTree.fromstring(xml)

    assert (root.findtext("MsgType"), root.findtext("Content")) == ("text", content)
    assert (root.findtext("ToUserName"), root.findtext("FromUserName"), root.findtext("CreateTime")) == (
        "zhangsan", CORP, "1718006400",
    )


def test_given_update_button_reply_when_encrypted_then_wechatpy_reads_replace_name(
    ours: WeComCrypto, theirs: WeChatCrypto
) -> None:
    xml = update_button_reply(to_user="WangXiaoMing", from_corp=CORP, create_time=1718030001, replace_name="已同意")

    reply = ours.encrypt(xml, nonce=NONCE, timestamp=TS)
    plaintext = theirs.decrypt_message(reply, ElementTree.fromstring(reply).findtext("MsgSignature"), TS, NONCE)

    root = ElementTree.fromstring(plaintext)
    assert (root.findtext("MsgType"), root.findtext("Button/ReplaceName")) == ("update_button", "已同意")


def test_given_reply_when_encrypted_then_reply_xml_has_the_four_elements(ours: WeComCrypto) -> None:
    root = ElementTree.fromstring(ours.encrypt("<xml/>", nonce=NONCE, timestamp=TS))

    assert [c.tag for c in root] == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    assert root.findtext("MsgSignature") == ours.signature(TS, NONCE, root.findtext("Encrypt"))
    assert (root.findtext("TimeStamp"), root.findtext("Nonce")) == (TS, NONCE)


# --- construction -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [KEY[:-1], KEY + "A", KEY[:-1] + "+", KEY[:-1] + "=", "", "é" * 43, None],
    ids=["42-chars", "44-chars", "plus", "equals", "empty", "non-ascii", "none"],
)
def test_given_illegal_key_when_constructed_then_illegal_aes_key(key) -> None:
    with pytest.raises(IllegalAesKey) as info:
        WeComCrypto(TOKEN, key, CORP)

    assert info.value.wecom_code == -40004
    assert isinstance(info.value, errors.ConfigurationError)
    assert KEY not in info.value.message


def test_given_non_canonical_key_when_constructed_then_accepted() -> None:
    # Tencent's own sample keys have non-zero trailing bits (PROTOCOL.md §1.2).
    canonical = base64.b64encode(base64.b64decode(KEY + "=")).decode()[:43]
    assert canonical != KEY

    assert WeComCrypto(TOKEN, KEY, CORP).decrypt(WeComCrypto(TOKEN, canonical, CORP).encrypt_b64("同")) == "同"


def test_given_empty_token_when_constructed_then_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError):
        WeComCrypto("", KEY, CORP)


# --- error paths, one per official code -------------------------------------------------------------


def test_given_wrong_signature_when_decrypt_callback_then_40001(ours: WeComCrypto) -> None:
    encrypt = ours.encrypt_b64("<xml/>")
    sig, body = signed_body(ours, encrypt)

    for bad in ("0" * 40, sig[:-1], "", "签名" * 20, None, sig + "0"):
        with pytest.raises(ValidateSignatureError) as info:
            ours.decrypt_callback(bad, TS, NONCE, body)
        assert info.value.wecom_code == -40001


def test_given_uppercase_hex_signature_when_decrypt_callback_then_accepted(ours: WeComCrypto) -> None:
    sig, body = signed_body(ours, ours.encrypt_b64("<xml/>"))

    assert ours.decrypt_callback(sig.upper(), TS, NONCE, body) == "<xml/>"


def test_given_signature_for_other_timestamp_when_verify_url_then_40001(ours: WeComCrypto) -> None:
    echostr = ours.encrypt_b64("123")

    with pytest.raises(ValidateSignatureError):
        ours.verify_url(ours.signature(TS, NONCE, echostr), "1718006401", NONCE, echostr)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        "not xml at all",
        "<xml><Encrypt>abc</Encrypt>",
        "<xml><ToUserName>x</ToUserName></xml>",
        "<xml><Encrypt></Encrypt></xml>",
        b"<xml><Encrypt>\xff\xfe</Encrypt></xml>",
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<xml><Encrypt>&b;</Encrypt></xml>",
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><Encrypt>&xxe;</Encrypt></xml>",
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><Encrypt>abc</Encrypt></xml>',
        b'<?xml version="1.0" encoding="no-such-codec"?><xml><Encrypt>abc</Encrypt></xml>',
    ],
    ids=["empty", "text", "unclosed", "no-encrypt", "empty-encrypt", "bad-utf8", "entity-expansion", "xxe",
         "external-dtd", "unknown-encoding"],
)
def test_given_bad_outer_body_when_decrypt_callback_then_40002_without_resolving(ours: WeComCrypto, body) -> None:
    with pytest.raises(ParseXmlError) as info:
        ours.decrypt_callback("0" * 40, TS, NONCE, body)

    assert info.value.wecom_code == -40002
    assert info.value.status == 400


def test_given_unencodable_query_value_when_decrypt_callback_then_40003(ours: WeComCrypto) -> None:
    _, body = signed_body(ours, ours.encrypt_b64("<xml/>"))

    with pytest.raises(ComputeSignatureError) as info:
        ours.decrypt_callback("0" * 40, "17180\ud800", NONCE, body)

    assert info.value.wecom_code == -40003
    assert info.value.status == 400


def test_given_other_corp_plaintext_when_decrypt_callback_then_40005(ours: WeComCrypto) -> None:
    foreign = WeComCrypto(TOKEN, KEY, "ww0000000000000000")
    sig, body = signed_body(ours, foreign.encrypt_b64("<xml/>"))

    with pytest.raises(ValidateReceiveIdError) as info:
        ours.decrypt_callback(sig, TS, NONCE, body)

    assert info.value.wecom_code == -40005
    assert info.value.status == 403


def test_given_bad_random_prefix_when_encrypt_then_40006(ours: WeComCrypto) -> None:
    with pytest.raises(EncryptAESError) as info:
        ours.encrypt_b64("x", random_prefix=b"short")

    assert info.value.wecom_code == -40006


@pytest.mark.parametrize("raw", [b"\x00" * 15, b"\x00" * 17, b"\x00" * 33], ids=["15", "17", "33"])
def test_given_ciphertext_not_block_aligned_when_decrypt_then_40007(ours: WeComCrypto, raw: bytes) -> None:
    sig, body = signed_body(ours, base64.b64encode(raw).decode())

    with pytest.raises(DecryptAESError) as info:
        ours.decrypt_callback(sig, TS, NONCE, body)

    assert info.value.wecom_code == -40007


def _bad_buffers() -> dict[str, bytes]:
    good = packed(b"<xml/>")
    body = good[: -good[-1]]
    return {
        "pad-zero": body + b"\x00" * (32 - len(body) % 32),
        "pad-33": body + b"\x21" * (64 - len(body) % 32),
        "pad-mixed": good[:-2] + bytes([good[-1] - 1, good[-1]]),
        "pad-longer-than-buffer": b"\x30" * 32,
        "shorter-than-20": b"R" * 16 + b"\x00\x00" + bytes([14]) * 14,
        "length-exceeds": packed(b"<xml/>", n=10_000),
        "invalid-utf8": packed(b"\xff\xfe<xml/>"),
    }


@pytest.mark.parametrize("name", list(_bad_buffers()))
def test_given_malformed_plaintext_buffer_when_decrypt_then_40008(ours: WeComCrypto, name: str) -> None:
    sig, body = signed_body(ours, encrypt_raw(_bad_buffers()[name]))

    with pytest.raises(IllegalBuffer) as info:
        ours.decrypt_callback(sig, TS, NONCE, body)

    assert info.value.wecom_code == -40008
    assert info.value.status == 400


@pytest.mark.parametrize("encrypt", ["not base64!", "QUJD=QUJD", "QUJ", "短文"], ids=["chars", "pad-mid", "trunc", "cjk"])
def test_given_non_base64_encrypt_when_decrypt_then_40010(ours: WeComCrypto, encrypt: str) -> None:
    sig, body = signed_body(ours, encrypt)

    with pytest.raises(DecodeBase64Error) as info:
        ours.decrypt_callback(sig, TS, NONCE, body)

    assert info.value.wecom_code == -40010


@pytest.mark.parametrize("nonce,timestamp", [("a]]>b", TS), ("", TS), (NONCE, "12a"), (NONCE, "١٢٣")])
def test_given_unsafe_reply_nonce_or_timestamp_when_encrypt_then_40011(ours: WeComCrypto, nonce, timestamp) -> None:
    with pytest.raises(GenReturnXmlError) as info:
        ours.encrypt("<xml/>", nonce=nonce, timestamp=timestamp)

    assert info.value.wecom_code == -40011


@pytest.mark.parametrize(
    "cls,code,status",
    [
        (ValidateSignatureError, -40001, 403),
        (ParseXmlError, -40002, 400),
        (ComputeSignatureError, -40003, 400),
        (IllegalAesKey, -40004, 500),
        (ValidateReceiveIdError, -40005, 403),
        (EncryptAESError, -40006, 500),
        (DecryptAESError, -40007, 400),
        (IllegalBuffer, -40008, 400),
        (EncodeBase64Error, -40009, 500),
        (DecodeBase64Error, -40010, 400),
        (GenReturnXmlError, -40011, 500),
    ],
)
def test_given_each_official_code_when_mapped_to_http_then_expected_status(cls, code, status) -> None:
    from wecom_oa.http import error_response

    got_status, body = error_response(cls("problem named here"))

    assert (cls.wecom_code, got_status) == (code, status)
    assert issubclass(cls, errors.OAError) and issubclass(cls, WeComCryptoError)
    assert body["error"]["message"] == "problem named here"


# --- cold-start cost --------------------------------------------------------------------------------


def test_given_fresh_interpreter_when_crypto_imported_then_pydantic_not_loaded() -> None:
    code = "import sys, wecom_oa.wecom.crypto; print('pydantic' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": "layers/common"}

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[3]))

    assert out.stdout.strip() == "False"


# --- XML hardening on both parser paths -------------------------------------------------------------


def test_given_utf16_body_with_entities_when_decrypt_callback_then_refused(ours: WeComCrypto) -> None:
    body = ('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE xml [<!ENTITY a "x">]>'
            "<xml><Encrypt>&a;</Encrypt></xml>").encode("utf-16")

    with pytest.raises(ParseXmlError):
        ours.decrypt_callback("0" * 40, TS, NONCE, body)


def test_given_doctype_text_inside_inner_cdata_when_callback_then_still_decrypted_and_parsed(
    ours: WeComCrypto, event_xml
) -> None:
    # A member's chat text is CDATA in the decrypted XML: there `<!DOCTYPE` is text, not markup.
    plaintext = event_xml("text").replace("hello", "<!DOCTYPE html><p>hi</p>")
    cb = ours.encrypt_callback(plaintext, timestamp=TS, nonce=NONCE)

    xml = ours.decrypt_callback(cb.msg_signature, TS, NONCE, cb.body.encode())

    assert parse_event(xml).content == "<!DOCTYPE html><p>hi</p>"


def test_given_doctype_text_anywhere_in_the_outer_body_when_callback_then_refused(ours: WeComCrypto) -> None:
    # The outer envelope holds only base64, the CorpID and the AgentID: no reason for `<!DOCTYPE` anywhere.
    cb = ours.encrypt_callback("<xml><MsgType>text</MsgType></xml>", timestamp=TS, nonce=NONCE)
    body = cb.body.replace("</xml>", "<Note><![CDATA[<!DOCTYPE x>]]></Note></xml>")

    with pytest.raises(ParseXmlError, match="DTD or entity declaration"):
        ours.decrypt_callback(cb.msg_signature, TS, NONCE, body.encode())
