"""WeCom callback crypto (the "WXBizMsgCrypt" scheme, PROTOCOL.md §1).

Contract:
- `WeComCrypto(token, encoding_aes_key, receive_id)` validates the key at construction
  (`IllegalAesKey`, a ConfigurationError) and caches the AES cipher; instances are immutable and
  safe to share across invocations.
- Every failure raises a `WeComCryptoError` subclass carrying the official `wecom_code`
  (−40001…−40011). Each also subclasses the matching `wecom_oa.errors` class, so the HTTP mapping is
  automatic: forged/misrouted callbacks → 403, malformed input → 400, a bad key → configuration error.
  No other exception type escapes the public methods for any str/bytes input.
- Messages name the problem and never carry the token, key or plaintext.
- XML (the outer body here, the decrypted inner XML in `parser`) goes through `safe_fromstring`:
  UTF-8 or refused, no DTD or entity declaration in any encoding, refused before expat sees it.
- Freshness: given `fresh_at` (the caller's clock, unix seconds), a signed timestamp more than
  `window_seconds` away from it is refused (`StaleTimestampError`, 403) before decryption.

This module sits on the callback cold-start path: it imports no pydantic.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import hmac
import re
import secrets
from typing import ClassVar, NamedTuple
from xml.etree.ElementTree import Element, ParseError, XMLParser

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

from wecom_oa.errors import ConfigurationError, Forbidden, InvalidInput, OAError

_BLOCK = 32  # PKCS#7 padding block of the scheme (AES itself uses 16-byte blocks).
_PREFIX_LEN = 16
_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")
_REPLY_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


# --- errors -------------------------------------------------------------------------------------


class WeComCryptoError(OAError):
    """Base of the callback crypto errors; `wecom_code` is the official sample-library code."""

    wecom_code: ClassVar[int] = 0


class ValidateSignatureError(Forbidden, WeComCryptoError):
    wecom_code = -40001


class ParseXmlError(InvalidInput, WeComCryptoError):
    wecom_code = -40002


class ComputeSignatureError(InvalidInput, WeComCryptoError):
    """Signature inputs cannot be encoded (e.g. lone surrogates in a query value)."""

    wecom_code = -40003


class IllegalAesKey(ConfigurationError, WeComCryptoError):
    wecom_code = -40004


class StaleTimestampError(Forbidden, WeComCryptoError):
    """A correctly signed timestamp outside the freshness window (a replay, or a clock far off).

    The official library has no freshness check; this shares the signature failure's code."""

    wecom_code = -40001


class ValidateReceiveIdError(Forbidden, WeComCryptoError):
    """The plaintext's ReceiveId is not ours: a forgery or a misconfigured CorpID."""

    wecom_code = -40005


class EncryptAESError(WeComCryptoError):
    wecom_code = -40006


class DecryptAESError(InvalidInput, WeComCryptoError):
    wecom_code = -40007


class IllegalBuffer(InvalidInput, WeComCryptoError):
    wecom_code = -40008


class EncodeBase64Error(WeComCryptoError):
    wecom_code = -40009


class DecodeBase64Error(InvalidInput, WeComCryptoError):
    wecom_code = -40010


class GenReturnXmlError(WeComCryptoError):
    wecom_code = -40011


# --- helpers ------------------------------------------------------------------------------------


class EncryptedCallback(NamedTuple):
    """What WeCom sends for one POST callback: query values and the XML body."""

    msg_signature: str
    timestamp: str
    nonce: str
    body: str


def _cdata(text: str) -> str:
    """CDATA section that stays well-formed whatever `text` holds."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _as_str(value: object, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValidateSignatureError(f"query parameter {name} is missing or not a string")


class UnsafeXmlError(DefusedXmlException):
    """XML refused before parsing; `str()` is a fixed sentence naming the rule (never the data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


# `<!` opens a declaration (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION) unless it opens a comment
# or a CDATA section; expat is case-sensitive, the guard is not.
_DECLARATION = re.compile(r"<!(?!\[CDATA\[|--)")
_SKIPPED = (("<![CDATA[", "]]>"), ("<!--", "-->"), ("<?", "?>"))
_OPENER = re.compile(r"<[!?]")
_XML_DECL = re.compile(r"<\?xml\b(?P<body>.*?)\?>", re.DOTALL)
_DECL_ENCODING = re.compile(r"""\bencoding\s*=\s*(["'])(?P<name>[^"']*)\1""")


def _declaration_outside_sections(text: str) -> bool:
    """True when a `<!` declaration appears outside CDATA sections, comments and processing
    instructions, or one of those is unterminated. Scans in document order, as expat does, so a
    `<![CDATA[` inside a comment or PI cannot hide a DOCTYPE that follows it. Linear time."""
    pos = 0
    while (m := _OPENER.search(text, pos)) is not None:
        start = m.start()
        for opener, closer in _SKIPPED:
            if text.startswith(opener, start):
                end = text.find(closer, start + len(opener))
                if end < 0:
                    return True
                pos = end + len(closer)
                break
        else:
            return True
    return False


def screen_xml(data: bytes | str, *, text_in_sections: bool = False) -> str:
    """The document as text, once it is known to hold no DTD or entity declaration in any encoding.

    WeCom sends UTF-8, so that is the only encoding read: bytes must decode as strict UTF-8 (a
    UTF-8 byte-order mark is dropped), an XML declaration may name no other encoding, and no NUL
    may appear (an ASCII character in BOM-less UTF-16 or UTF-32 always carries one). Then no `<!`
    declaration may appear: anywhere at all by default (the outer body holds only base64, ids and
    CDATA), or, with `text_in_sections`, outside CDATA sections, comments and PIs (the decrypted
    inner XML, where a member's chat text in CDATA may legitimately read `<!DOCTYPE html>`).
    Raises UnsafeXmlError naming the rule.
    """
    if isinstance(data, bytes):
        try:
            text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
        except UnicodeDecodeError:
            raise UnsafeXmlError("XML is not UTF-8 (WeCom sends UTF-8)") from None
    else:
        text = data.removeprefix("\ufeff")
    if "\x00" in text:
        raise UnsafeXmlError("XML contains NUL characters (UTF-16/UTF-32 is not accepted)")
    if text.startswith("<?xml"):
        decl = _XML_DECL.match(text)
        named = _DECL_ENCODING.search(decl.group("body") if decl else text[:200])
        if named is not None and named.group("name").lower() not in ("utf-8", "utf8"):
            raise UnsafeXmlError("XML declares an encoding other than UTF-8")
    # The section-aware scan runs only when the plain search finds a candidate (rare: a `<!` in text).
    if _DECLARATION.search(text) is not None and (not text_in_sections or _declaration_outside_sections(text)):
        raise UnsafeXmlError("XML contains a DTD or entity declaration")
    return text


def safe_fromstring(data: bytes | str, *, text_in_sections: bool = False) -> Element:
    """Parse untrusted XML: `screen_xml` first (no expansion can start), then a parser that
    refuses DTDs, entities and external references on its own as well.

    A screened document is UTF-8 text with no declaration markup, so no entity can be defined or
    referenced externally; such text goes to the C parser, fed as `str` (expat reads it as UTF-8
    whatever it declares). defusedxml with `forbid_dtd=True` (its pure-Python glue is ~2-10x
    slower) stays as the second wall should anything reach a parser with a DOCTYPE in it: a text
    still containing `<!DOCTYPE` (only possible inside sections with `text_in_sections`) goes there.
    Raises UnsafeXmlError or another DefusedXmlException, or ParseError.
    """
    text = screen_xml(data, text_in_sections=text_in_sections)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return _safe_fromstring(text, forbid_dtd=True)
    parser = XMLParser()  # noqa: S314 - screened: UTF-8 text without any DTD or entity declaration
    parser.feed(text)
    return parser.close()


_MAX_TIMESTAMP_DIGITS = 12


def check_freshness(timestamp: object, now: float, window_seconds: int) -> None:
    """Refuse a signed `timestamp` (unix seconds, ASCII digits) more than `window_seconds` from
    `now`, in either direction. Raises StaleTimestampError; its message gives the skew only."""
    ts = _as_str(timestamp, "timestamp")
    if not (ts.isascii() and ts.isdigit() and len(ts) <= _MAX_TIMESTAMP_DIGITS):
        raise StaleTimestampError("timestamp is not a unix time in seconds")
    skew = int(ts) - int(now)
    if abs(skew) > window_seconds:
        when = f"{-skew} s old" if skew < 0 else f"{skew} s in the future"
        raise StaleTimestampError(f"timestamp is {when}; the window is ±{window_seconds} s")


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """EncodingAESKey (43 chars) → 32-byte AES key. Non-canonical base64 (the normal case) is accepted."""
    if not isinstance(encoding_aes_key, str) or not _KEY_RE.fullmatch(encoding_aes_key):
        raise IllegalAesKey("EncodingAESKey must be exactly 43 characters from [A-Za-z0-9]")
    key = binascii.a2b_base64(encoding_aes_key + "=")
    if len(key) != 32:  # pragma: no cover - 43 base64 chars always give 32 bytes
        raise IllegalAesKey("EncodingAESKey does not decode to 32 bytes")
    return key


# --- the crypto ---------------------------------------------------------------------------------


class WeComCrypto:
    """Verify, decrypt and encrypt WeCom callbacks for one app (token, key, ReceiveId = CorpID)."""

    __slots__ = ("_cipher", "_receive_id", "_token")

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("WeCom callback token is empty")
        if not isinstance(receive_id, str):
            raise ConfigurationError("WeCom ReceiveId (CorpID) must be a string")
        key = decode_aes_key(encoding_aes_key)
        self._token = token.encode("utf-8")
        self._receive_id = receive_id.encode("utf-8")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    # signature

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """Lowercase hex SHA-1 of the sorted concatenation of token, timestamp, nonce and encrypt."""
        try:
            parts = sorted(
                (self._token, str(timestamp).encode(), str(nonce).encode(), str(encrypt).encode())
            )
        except UnicodeEncodeError as exc:
            raise ComputeSignatureError("signature inputs are not encodable as UTF-8") from exc
        return hashlib.sha1(b"".join(parts), usedforsecurity=False).hexdigest()

    def _check_signature(self, msg_signature: object, timestamp: object, nonce: object, encrypt: str) -> None:
        sig = _as_str(msg_signature, "msg_signature")
        expected = self.signature(_as_str(timestamp, "timestamp"), _as_str(nonce, "nonce"), encrypt)
        if not sig.isascii() or not hmac.compare_digest(expected, sig.lower()):
            raise ValidateSignatureError("msg_signature does not match the callback")

    # inbound

    def verify_url(
        self, msg_signature: str, timestamp: str, nonce: str, echostr: str, *,
        fresh_at: float | None = None, window_seconds: int = 600,
    ) -> str:
        """GET verification: the decrypted echostr, to be returned verbatim as the response body.

        A '+' turned into ' ' by form decoding is restored (base64 has no spaces). With `fresh_at`,
        the signed timestamp must be within `window_seconds` of it (`check_freshness`).
        """
        echo = _as_str(echostr, "echostr").replace(" ", "+")
        if not echo:
            raise ValidateSignatureError("query parameter echostr is empty")
        self._check_signature(msg_signature, timestamp, nonce, echo)
        if fresh_at is not None:
            check_freshness(timestamp, fresh_at, window_seconds)
        return self.decrypt(echo)

    def decrypt_callback(
        self, msg_signature: str, timestamp: str, nonce: str, body: bytes | str, *,
        fresh_at: float | None = None, window_seconds: int = 600,
    ) -> str:
        """POST callback: the decrypted inner XML. The signature covers only the Encrypt text.

        Order: the outer XML is screened and parsed, the signature checked, then (with `fresh_at`)
        the timestamp's freshness, and only then is anything decrypted."""
        encrypt = self.extract_encrypt(body)
        self._check_signature(msg_signature, timestamp, nonce, encrypt)
        if fresh_at is not None:
            check_freshness(timestamp, fresh_at, window_seconds)
        return self.decrypt(encrypt)

    @staticmethod
    def extract_encrypt(body: bytes | str) -> str:
        """The `<Encrypt>` text of an outer callback body; DTDs, entities and external refs are refused."""
        if not isinstance(body, bytes | str) or not body:
            raise ParseXmlError("callback body is empty")
        try:
            root = safe_fromstring(body)
        except UnsafeXmlError as exc:
            raise ParseXmlError(f"callback body refused: {exc.reason}") from exc
        except DefusedXmlException as exc:
            raise ParseXmlError("callback body contains a DTD, entity or external reference") from exc
        except (ParseError, ValueError, LookupError) as exc:
            raise ParseXmlError("callback body is not well-formed XML") from exc
        encrypt = root.findtext("Encrypt")
        if not encrypt:
            raise ParseXmlError("callback body has no Encrypt element")
        return encrypt.strip()

    def decrypt(self, encrypt_b64: str) -> str:
        """base64 ciphertext → plaintext message, with every structural check of PROTOCOL.md §1.4."""
        try:
            data = binascii.a2b_base64(encrypt_b64, strict_mode=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise DecodeBase64Error("Encrypt is not valid base64") from exc
        if not data or len(data) % 16:
            raise DecryptAESError("ciphertext length is not a non-zero multiple of 16")
        decryptor = self._cipher.decryptor()
        buf = decryptor.update(data) + decryptor.finalize()
        return self._unpack(buf)

    def _unpack(self, buf: bytes) -> str:
        pad = buf[-1]
        if not 1 <= pad <= _BLOCK or pad > len(buf) or buf[-pad:] != bytes((pad,)) * pad:
            raise IllegalBuffer("decrypted buffer has invalid PKCS#7 padding")
        end = len(buf) - pad
        if end < _PREFIX_LEN + 4:
            raise IllegalBuffer("decrypted buffer is shorter than 20 bytes")
        start = _PREFIX_LEN + 4
        msg_end = start + int.from_bytes(buf[_PREFIX_LEN:start], "big")
        if msg_end > end:
            raise IllegalBuffer("message length exceeds the decrypted buffer")
        if buf[msg_end:end] != self._receive_id:
            raise ValidateReceiveIdError("ReceiveId in the message is not this app's CorpID")
        try:
            return buf[start:msg_end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IllegalBuffer("decrypted message is not valid UTF-8") from exc

    # outbound

    def encrypt_b64(self, plaintext: str, *, random_prefix: bytes | None = None) -> str:
        """plaintext → base64 ciphertext (the `Encrypt` value). Prefix: 16 random ASCII bytes by default."""
        prefix = secrets.token_hex(8).encode() if random_prefix is None else random_prefix
        if not isinstance(prefix, bytes) or len(prefix) != _PREFIX_LEN:
            raise EncryptAESError("random_prefix must be exactly 16 bytes")
        try:
            msg = plaintext.encode("utf-8")
        except (UnicodeEncodeError, AttributeError) as exc:
            raise EncryptAESError("plaintext is not encodable as UTF-8") from exc
        buf = b"".join((prefix, len(msg).to_bytes(4, "big"), msg, self._receive_id))
        pad = _BLOCK - len(buf) % _BLOCK
        encryptor = self._cipher.encryptor()
        data = encryptor.update(buf + bytes((pad,)) * pad) + encryptor.finalize()
        return binascii.b2a_base64(data, newline=False).decode("ascii")

    def encrypt(
        self, plaintext: str, *, nonce: str, timestamp: str, random_prefix: bytes | None = None
    ) -> str:
        """Encrypted passive-reply XML (Encrypt, MsgSignature, TimeStamp, Nonce) for the HTTP response."""
        nonce, timestamp = str(nonce), str(timestamp)
        if not _REPLY_TOKEN_RE.fullmatch(nonce) or not timestamp.isdigit() or not timestamp.isascii():
            raise GenReturnXmlError("reply nonce must match [A-Za-z0-9_-]{1,64} and timestamp be digits")
        encrypt = self.encrypt_b64(plaintext, random_prefix=random_prefix)
        signature = self.signature(timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt>{_cdata(encrypt)}</Encrypt><MsgSignature>{_cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
        )

    def encrypt_callback(
        self,
        plaintext: str,
        *,
        timestamp: str,
        nonce: str,
        agent_id: str = "",
        random_prefix: bytes | None = None,
    ) -> EncryptedCallback:
        """What WeCom would POST for `plaintext` (used by the sandbox simulator and tests)."""
        encrypt = self.encrypt_b64(plaintext, random_prefix=random_prefix)
        to_user = self._receive_id.decode("utf-8")
        body = (
            f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><Encrypt>{_cdata(encrypt)}</Encrypt>"
            f"<AgentID>{_cdata(str(agent_id))}</AgentID></xml>"
        )
        return EncryptedCallback(self.signature(timestamp, nonce, encrypt), str(timestamp), str(nonce), body)


# --- passive reply plaintexts (PROTOCOL.md §1.6, §2.3) ----------------------------------------------


def _reply_head(to_user: str, from_corp: str, create_time: int, msg_type: str) -> str:
    return (
        f"<ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_corp)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType>{_cdata(msg_type)}</MsgType>"
    )


def text_reply(*, to_user: str, from_corp: str, create_time: int, content: str) -> str:
    """Plaintext of a passive text reply. WeCom truncates Content beyond 2048 UTF-8 bytes."""
    return f"<xml>{_reply_head(to_user, from_corp, create_time, 'text')}<Content>{_cdata(content)}</Content></xml>"


def update_button_reply(*, to_user: str, from_corp: str, create_time: int, replace_name: str) -> str:
    """Plaintext of a passive `update_button` reply: greys the clicked user's card button out."""
    return (
        f"<xml>{_reply_head(to_user, from_corp, create_time, 'update_button')}"
        f"<Button><ReplaceName>{_cdata(replace_name)}</ReplaceName></Button></xml>"
    )
