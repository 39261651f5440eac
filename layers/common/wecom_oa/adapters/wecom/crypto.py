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

This module sits on the callback cold-start path: it imports no pydantic.
"""

from __future__ import annotations

import binascii
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


def safe_fromstring(data: bytes | str) -> Element:
    """Parse untrusted XML with defusedxml's guarantees (no DTD, entities or external references).

    defusedxml runs the pure-Python expat glue (~2-10x slower than the C parser). A document with no
    `<!DOCTYPE` cannot declare entities or reference external ones, so such documents (every real
    WeCom payload) go to the C parser; anything else, or bytes that are not plain UTF-8, goes to
    defusedxml with `forbid_dtd=True`. Raises ParseError or a DefusedXmlException.
    """
    text = data
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        head = data[:100].lower()
        if b"encoding" in head and b"utf-8" not in head:
            text = None
    if isinstance(text, str) and "<!DOCTYPE" not in text:
        parser = XMLParser()  # noqa: S314 - no DOCTYPE, hence no entities or external refs (see above)
        parser.feed(text)
        return parser.close()
    return _safe_fromstring(data, forbid_dtd=True)


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

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET verification: the decrypted echostr, to be returned verbatim as the response body.

        A '+' turned into ' ' by form decoding is restored (base64 has no spaces).
        """
        echo = _as_str(echostr, "echostr").replace(" ", "+")
        if not echo:
            raise ValidateSignatureError("query parameter echostr is empty")
        self._check_signature(msg_signature, timestamp, nonce, echo)
        return self.decrypt(echo)

    def decrypt_callback(self, msg_signature: str, timestamp: str, nonce: str, body: bytes | str) -> str:
        """POST callback: the decrypted inner XML. The signature covers only the Encrypt text."""
        encrypt = self.extract_encrypt(body)
        self._check_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    @staticmethod
    def extract_encrypt(body: bytes | str) -> str:
        """The `<Encrypt>` text of an outer callback body; DTDs, entities and external refs are refused."""
        if not isinstance(body, bytes | str) or not body:
            raise ParseXmlError("callback body is empty")
        try:
            root = safe_fromstring(body)
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
