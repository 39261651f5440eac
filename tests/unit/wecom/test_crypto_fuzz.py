"""Property tests: whatever arrives on the callback, only typed errors come out; round trips hold."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.work.crypto import WeChatCrypto

from wecom_oa.wecom.crypto import WeComCrypto, WeComCryptoError
from wecom_oa.wecom.parser import MalformedEvent, parse_event

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "wecom_vectors" / "vectors.json").read_text("utf-8")
)
GOOD = next(v for v in VECTORS if v["id"] == "wechatpy_approval_change")
ECHO = next(v for v in VECTORS if v["id"] == "wechatpy_url_verification")
CRYPTO = WeComCrypto(GOOD["token"], GOOD["encoding_aes_key"], GOOD["receive_id"])
Q = GOOD["query_params_decoded"]
EVENTS = sorted((Path(__file__).resolve().parents[2] / "events" / "wecom").glob("*.xml"))

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (op, position, byte) edits: 0 flip, 1 insert, 2 delete."""
    buf = bytearray(data)
    for op, pos, byte in edits:
        if not buf:
            buf.append(byte)
            continue
        i = pos % len(buf)
        if op == 0:
            buf[i] ^= byte or 1
        elif op == 1:
            buf.insert(i, byte)
        else:
            del buf[i]
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8)


def _only_typed(call) -> None:
    with contextlib.suppress(WeComCryptoError):
        call()


@FUZZ
@given(edits=EDITS)
def test_given_mutated_body_when_decrypt_callback_then_only_typed_errors(edits) -> None:
    body = _mutate(GOOD["http_body"].encode(), edits)

    _only_typed(lambda: CRYPTO.decrypt_callback(Q["msg_signature"], Q["timestamp"], Q["nonce"], body))


@FUZZ
@given(edits=EDITS)
def test_given_mutated_ciphertext_signed_correctly_when_decrypted_then_only_typed_errors(edits) -> None:
    # Re-signing reaches the base64 / AES / padding / buffer checks behind the signature.
    raw = _mutate(base64.b64decode(GOOD["encrypt"]), edits)
    encrypt = base64.b64encode(raw).decode()
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    sig = CRYPTO.signature(Q["timestamp"], Q["nonce"], encrypt)

    _only_typed(lambda: CRYPTO.decrypt_callback(sig, Q["timestamp"], Q["nonce"], body))


@FUZZ
@given(encrypt=st.text(min_size=1, max_size=200))
def test_given_arbitrary_encrypt_text_signed_when_decrypted_then_only_typed_errors(encrypt: str) -> None:
    _only_typed(lambda: CRYPTO.verify_url(CRYPTO.signature("1", "2", encrypt), "1", "2", encrypt))


@FUZZ
@given(blocks=st.binary(min_size=16, max_size=160).map(lambda b: b[: len(b) - len(b) % 16]))
def test_given_random_ciphertext_blocks_signed_when_decrypted_then_only_typed_errors(blocks: bytes) -> None:
    encrypt = base64.b64encode(blocks).decode()

    _only_typed(lambda: CRYPTO.decrypt(encrypt))


@FUZZ
@given(
    sig=st.one_of(st.text(max_size=60), st.none(), st.integers()),
    ts=st.one_of(st.text(max_size=20), st.none()),
    nonce=st.one_of(st.text(max_size=20), st.none()),
    echostr=st.one_of(st.text(max_size=120), st.none(), st.just(ECHO["query_params_decoded"]["echostr"])),
)
def test_given_arbitrary_query_values_when_verify_url_then_only_typed_errors(sig, ts, nonce, echostr) -> None:
    _only_typed(lambda: CRYPTO.verify_url(sig, ts, nonce, echostr))


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_given_arbitrary_body_when_decrypt_callback_then_only_typed_errors(body) -> None:
    _only_typed(lambda: CRYPTO.decrypt_callback(Q["msg_signature"], Q["timestamp"], Q["nonce"], body))


@FUZZ
@given(text=st.text(max_size=400), prefix=st.binary(min_size=16, max_size=16))
def test_given_any_text_when_we_encrypt_then_we_and_wechatpy_decrypt_it(text: str, prefix: bytes) -> None:
    theirs = WeChatCrypto(GOOD["token"], GOOD["encoding_aes_key"], GOOD["receive_id"])

    encrypt = CRYPTO.encrypt_b64(text, random_prefix=prefix)
    sig = CRYPTO.signature("1", "2", encrypt)

    assert CRYPTO.verify_url(sig, "1", "2", encrypt) == text
    assert theirs.check_signature(sig, "1", "2", encrypt) == text


@FUZZ
@given(index=st.integers(0, len(EVENTS) - 1), edits=EDITS)
def test_given_mutated_event_xml_when_parsed_then_event_or_malformed(index: int, edits) -> None:
    xml = _mutate(EVENTS[index].read_bytes(), edits)

    try:
        event = parse_event(xml)
    except MalformedEvent:
        return
    assert event.idempotency_key
    event.model_dump(mode="json")


@FUZZ
@given(xml=st.text(max_size=300))
def test_given_arbitrary_text_when_parsed_then_event_or_malformed(xml: str) -> None:
    with contextlib.suppress(MalformedEvent):
        parse_event(xml)
